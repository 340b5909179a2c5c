"""A person's name as Splink compares it, with first names that sound alike or are pet forms.

Splink's forename-surname comparison sees ``赵敏`` and ``赵民`` (a pinyin input method's
slip: both ``min``) or ``Luki`` and ``Lukas`` only as "same surname", a weak level, since
string similarity means little on one Chinese character or a short pet form. Matchers add a
phonetic level for this (Splink's docs suggest phonetic columns such as Double Metaphone);
for Chinese the sound is the toneless pinyin. crmos inserts one level after the exact
match: the surname agrees and the first names are one name by :func:`homophones` or
:func:`pet_name` (``guards``). It is trained like every other level.

The test runs in Python, registered as a DuckDB function on the run's connection, and only
where first names include Chinese characters (so Febrl4-like data pays nothing for it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import duckdb
import splink.comparison_library as cl
from duckdb.sqltypes import BOOLEAN, VARCHAR
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from crmos.identity.matching.frames import scalar
from crmos.identity.matching.guards import homophones, pet_name

ONE_NAME = "crmos_one_name"
"""The DuckDB function: whether two first names are one name (sound or pet form)."""

SOUNDS_LEVEL = "same surname, first names sound alike or a pet form"


@lru_cache(maxsize=65_536)
def one_name(a: str, b: str) -> bool:
    """Whether first names ``a`` and ``b`` differ but are one name (sound or pet form)."""
    return a != b and (homophones(a, b) or pet_name(a, b))


def register_one_name(con: duckdb.DuckDBPyConnection) -> None:
    """Make :data:`ONE_NAME` callable in SQL on ``con`` (once per connection)."""
    sql = "select count(*) from duckdb_functions() where function_name = ?"
    if scalar(con, sql.replace("?", f"'{ONE_NAME}'")):
        return
    con.create_function(ONE_NAME, one_name, [VARCHAR, VARCHAR], BOOLEAN)


def has_han(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], column: str) -> bool:
    """Whether any value of ``column`` in ``tables`` holds a Chinese character."""
    for table in tables:
        sql = (
            f"select count(*) from (select 1 from {table} "
            f"where regexp_matches({column}, '[\u4e00-\u9fff]') limit 1)"
        )
        if scalar(con, sql):
            return True
    return False


def person_name_comparison(forename: str, surname: str, sounds: bool) -> ComparisonCreator:
    """Splink's forename-surname comparison, with the sound/pet-form level if ``sounds``."""
    base = cl.ForenameSurnameComparison(forename, surname)
    if not sounds:
        return base
    levels: list[ComparisonLevelCreator | dict[str, Any]] = list(base.create_comparison_levels())
    condition = f'"{surname}_l" = "{surname}_r" and {ONE_NAME}("{forename}_l", "{forename}_r")'
    levels.insert(3, {"sql_condition": condition, "label_for_charts": SOUNDS_LEVEL})
    return cl.CustomComparison(levels, output_column_name=f"{forename}_{surname}")
