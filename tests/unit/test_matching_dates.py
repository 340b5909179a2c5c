"""The birth-date comparison: Splink's levels plus day and month swapped."""

from __future__ import annotations

from datetime import date

import duckdb

from crmos.identity.matching.comparisons import date_comparison


def _level(left: date, right: date) -> str:
    """The label of the first level whose condition holds for ``left`` and ``right``."""
    levels = date_comparison("dob").get_comparison("duckdb").comparison_levels
    con = duckdb.connect()
    con.execute("create table p as select ?::date as dob_l, ?::date as dob_r", [left, right])
    for level in levels:
        if level.sql_condition == "ELSE":
            return str(level.label_for_charts)
        if con.execute(f"select {level.sql_condition} from p").fetchone() == (True,):
            return str(level.label_for_charts)
    raise AssertionError("no level matched")


def test_a_birth_date_with_day_and_month_swapped_has_its_own_level() -> None:
    assert _level(date(1990, 3, 5), date(1990, 5, 3)) == "day and month swapped"


def test_equal_and_merely_close_birth_dates_keep_their_levels() -> None:
    assert _level(date(1990, 3, 5), date(1990, 3, 5)) == "Exact match on date of birth"
    assert _level(date(1990, 3, 5), date(1990, 3, 6)) == "Levenshtein distance <= 1"
    assert _level(date(1990, 3, 5), date(1991, 5, 3)) == "Abs date difference <= 10 year"
    assert _level(date(1990, 3, 5), date(1990, 4, 3)) == "Abs date difference <= 1 month"
