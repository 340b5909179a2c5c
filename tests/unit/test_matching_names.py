"""The person-name comparison's level for first names that sound alike or are pet forms."""

from __future__ import annotations

import duckdb

from crmos.identity.matching.names import (
    SOUNDS_LEVEL,
    has_han,
    one_name,
    person_name_comparison,
    register_one_name,
)


def _level(left: tuple[str, str], right: tuple[str, str], sounds: bool = True) -> str:
    """The label of the first level whose condition holds for the two (first, last) names."""
    con = duckdb.connect()
    register_one_name(con)
    register_one_name(con)  # a second run on the same connection is harmless
    con.execute(
        "create table p as select ? as first_l, ? as last_l, ? as first_r, ? as last_r",
        [*left, *right],
    )
    comparison = person_name_comparison("first", "last", sounds).get_comparison("duckdb")
    for level in comparison.comparison_levels:
        if level.sql_condition == "ELSE":
            return str(level.label_for_charts)
        if con.execute(f"select {level.sql_condition} from p").fetchall() == [(True,)]:
            return str(level.label_for_charts)
    raise AssertionError("no level matched")


def test_first_names_keyed_by_sound_or_given_as_pet_forms_have_their_own_level() -> None:
    assert _level(("敏", "赵"), ("民", "赵")) == SOUNDS_LEVEL
    assert _level(("Luki", "Meyer"), ("Lukas", "Meyer")) == SOUNDS_LEVEL
    assert _level(("远远", "杨"), ("思远", "杨")) == SOUNDS_LEVEL
    # A family name keyed by its sound, alone or with the first name's.
    assert _level(("浩然", "阳"), ("浩然", "杨")) == SOUNDS_LEVEL
    assert _level(("晓明", "章"), ("晓铭", "张")) == SOUNDS_LEVEL
    assert _level(("Mike", "Weber"), ("Michael", "Weber")) == SOUNDS_LEVEL
    assert _level(("はると", "さとう"), ("陽翔", "佐藤")) == SOUNDS_LEVEL


def test_other_names_keep_splinks_levels() -> None:
    assert _level(("敏", "赵"), ("敏", "赵")).startswith("(Exact match on first)")
    assert _level(("敏", "赵"), ("民", "钱")) == "All other comparisons"
    assert _level(("静", "赵"), ("敏", "赵")) == "Exact match on last"
    assert _level(("敏", "赵"), ("民", "赵"), sounds=False) == "Exact match on last"


def test_one_name_needs_two_different_spellings() -> None:
    assert one_name("思远", "思元") and not one_name("思远", "思远")
    assert not one_name("Ben", "Lena")


def test_chinese_first_names_are_found_in_any_input_table() -> None:
    con = duckdb.connect()
    con.execute("create table a as select 'Anna' as first")
    con.execute("create table b as select * from (values ('Ben'), ('思远')) v(first)")
    assert has_han(con, ("a", "b"), "first")
    assert not has_han(con, ("a",), "first")
