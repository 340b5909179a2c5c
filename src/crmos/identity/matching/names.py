"""A person's name as Splink compares it, with first names that are one name in other forms.

Splink's forename-surname comparison sees ``赵敏`` and ``赵民`` (a pinyin input method's
slip: both ``min``), ``Luki`` and ``Lukas``, ``Mike`` and ``Michael`` or ``はると`` and
``陽翔`` only as "same surname", a weak level, since string similarity means little on one
Chinese character, a pet form or another script. Matchers add a phonetic level for this
(Splink's docs suggest phonetic columns such as Double Metaphone); crmos inserts one level
after the exact match: the surname agrees and the first names are one name by one of
:data:`NAME_LEVELS`. It is trained like every other level.

The test runs in Python, registered as a DuckDB function on the run's connection, and only
where first names include Chinese or Japanese characters or a listed nickname of another
first name (:func:`needs_name_level`), so data without such names pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import duckdb
import splink.comparison_library as cl
from duckdb.sqltypes import BOOLEAN, VARCHAR
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from crmos.identity.matching.frames import rows, scalar
from crmos.identity.matching.given_names import english_nickname, nicknames_of, same_reading
from crmos.identity.matching.guards import homophones, pet_name

ONE_NAME = "crmos_one_name"
"""The DuckDB function: whether two first names are one name (sound or pet form)."""

SOUNDS_LEVEL = "one name in other forms: sound, pet form, nickname or reading"

NAME_LEVELS: dict[str, Callable[[str, str], bool]] = {
    "pinyin": homophones,
    "pet_form": pet_name,
    "english_nickname": english_nickname,
    "japanese_reading": same_reading,
}
"""Each way two first names can be one name: Chinese names of one sound, pet forms by
pattern (German, Portuguese, Chinese), listed English nicknames, Japanese readings."""


@lru_cache(maxsize=65_536)
def one_name(a: str, b: str, levels: tuple[str, ...] = tuple(NAME_LEVELS)) -> bool:
    """Whether first names ``a`` and ``b`` differ but are one name by one of ``levels``."""
    return a != b and any(NAME_LEVELS[level](a, b) for level in levels)


def register_one_name(
    con: duckdb.DuckDBPyConnection, levels: Sequence[str] = tuple(NAME_LEVELS)
) -> None:
    """Make :data:`ONE_NAME` callable in SQL on ``con`` (once per connection)."""
    sql = "select count(*) from duckdb_functions() where function_name = ?"
    if scalar(con, sql.replace("?", f"'{ONE_NAME}'")):
        return
    con.create_function(ONE_NAME, one_name_of(levels), [VARCHAR, VARCHAR], BOOLEAN)


def one_name_of(levels: Sequence[str]) -> Callable[[str | None, str | None], bool]:
    """:func:`one_name` with ``levels`` fixed, for a SQL engine to call (NULL is no name)."""
    chosen = tuple(levels)

    def call(a: str | None, b: str | None) -> bool:
        return a is not None and b is not None and one_name(a, b, chosen)

    return call


def needs_name_level(
    con: duckdb.DuckDBPyConnection,
    tables: tuple[str, ...],
    column: str,
    levels: Sequence[str] = tuple(NAME_LEVELS),
) -> bool:
    """Whether the first names in ``column`` call for the level: Chinese or Japanese ones,
    or (with English nicknames) a listed nickname of another of the names."""
    if not levels:
        return False
    if any(lv in levels for lv in ("pinyin", "japanese_reading")) and has_han(con, tables, column):
        return True
    if "english_nickname" not in levels:
        return False
    names: set[str] = set()
    for t in tables:
        sql = f"select distinct lower({column}) from {t} where {column} is not null limit 50000"
        names |= {str(r[0]) for r in rows(con, sql)}
    return any(nicknames_of(name) & names for name in names if name.isascii())


def has_han(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], column: str) -> bool:
    """Whether any value of ``column`` in ``tables`` holds a Chinese character or kana."""
    for table in tables:
        sql = (
            f"select count(*) from (select 1 from {table} "
            f"where regexp_matches({column}, '[\u3041-\u30ff\u4e00-\u9fff]') limit 1)"
        )
        if scalar(con, sql):
            return True
    return False


def person_name_comparison(
    forename: str, surname: str, sounds: bool, engine: str = "duckdb"
) -> ComparisonCreator:
    """Splink's forename-surname comparison, with the sound/pet-form level if ``sounds``:
    the surnames agree and the first names are one name, or the surnames are one name
    (``杨``, ``阳``) and the first names agree or are one name too."""
    base = cl.ForenameSurnameComparison(forename, surname)
    if not sounds:
        return base
    levels: list[ComparisonLevelCreator | dict[str, Any]] = list(base.create_comparison_levels())
    q = "`" if engine == "spark" else '"'
    fore_l, fore_r = f"{q}{forename}_l{q}", f"{q}{forename}_r{q}"
    sur_l, sur_r = f"{q}{surname}_l{q}", f"{q}{surname}_r{q}"
    # The surname may be the one keyed by sound (杨 for 阳, both yang) or read (さとう, 佐藤).
    condition = (
        f"({sur_l} = {sur_r} and {ONE_NAME}({fore_l}, {fore_r})) or ({ONE_NAME}({sur_l}, {sur_r})"
        f" and ({fore_l} = {fore_r} or {ONE_NAME}({fore_l}, {fore_r})))"
    )
    levels.insert(3, {"sql_condition": condition, "label_for_charts": SOUNDS_LEVEL})
    return cl.CustomComparison(levels, output_column_name=f"{forename}_{surname}")
