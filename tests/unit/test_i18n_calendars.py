"""Business calendars: SLA due times in a team's business hours, holidays, "today" per team."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmos.compliance import Team
from crmos.i18n import BusinessCalendar, due_ms

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")


def berlin_team() -> Team:
    return Team(timezone="Europe/Berlin", country="DE", subdivision="BE")


def test_a_six_hour_sla_on_friday_afternoon_is_due_on_monday() -> None:
    cal = BusinessCalendar(berlin_team())
    friday_4pm = datetime(2026, 3, 13, 16, 0, tzinfo=BERLIN)
    due = cal.add(friday_4pm, 6)
    assert due.astimezone(BERLIN) == datetime(2026, 3, 16, 14, 0, tzinfo=BERLIN)


def test_public_holidays_of_the_country_and_state_are_skipped() -> None:
    cal = BusinessCalendar(berlin_team())
    # 2026-12-24 is a Thursday; 25 and 26 December are holidays, 27 is a Sunday.
    start = datetime(2026, 12, 24, 16, 0, tzinfo=BERLIN)
    assert cal.add(start, 2).astimezone(BERLIN) == datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN)
    assert cal.holiday(date(2026, 12, 25))
    # International Women's Day is a holiday in Berlin but not in Bavaria.
    assert cal.holiday(date(2026, 3, 9)) is None  # a Monday, no holiday
    assert BusinessCalendar(Team(country="DE", subdivision="BE")).holiday(date(2027, 3, 8))
    assert BusinessCalendar(Team(country="DE", subdivision="BY")).holiday(date(2027, 3, 8)) is None


def test_working_hours_and_time_zones_shape_the_due_time() -> None:
    tokyo = Team(timezone="Asia/Tokyo", country="JP", hours={"mon": ["09:00-12:00", "13:00-18:00"]})
    cal = BusinessCalendar(tokyo)
    start = datetime(2026, 3, 16, 11, 0, tzinfo=TOKYO)  # a Monday
    assert cal.add(start, 2).astimezone(TOKYO) == datetime(2026, 3, 16, 14, 0, tzinfo=TOKYO)
    # Only Mondays are worked: 6 more hours roll over to the next Monday.
    assert cal.add(start, 8).astimezone(TOKYO) == datetime(2026, 3, 23, 11, 0, tzinfo=TOKYO)


def test_tokyo_and_berlin_agree_on_the_instant_and_each_knows_its_today() -> None:
    instant = datetime(2026, 3, 16, 23, 30, tzinfo=UTC)
    assert BusinessCalendar(Team(timezone="Asia/Tokyo")).today(instant) == date(2026, 3, 17)
    assert BusinessCalendar(Team(timezone="Europe/Berlin")).today(instant) == date(2026, 3, 17)
    assert BusinessCalendar(Team(timezone="America/New_York")).today(instant) == date(2026, 3, 16)


def test_business_hours_cross_the_daylight_saving_change() -> None:
    always = {d: ["00:00-24:00"] for d in ("fri", "sat", "sun", "mon")}
    cal = BusinessCalendar(Team(timezone="Europe/Berlin", hours=always))
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)  # clocks go forward on 29 March
    due = cal.add(start, 24)
    # 24 elapsed hours end at 13:00 on the clock: Sunday had only 23.
    assert due.astimezone(BERLIN) == datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN)
    assert due - start == timedelta(hours=24)


def test_due_time_in_plain_hours_ignores_the_calendar() -> None:
    start = int(datetime(2026, 3, 13, 16, 0, tzinfo=BERLIN).timestamp() * 1000)
    assert due_ms(berlin_team(), start, 6, business=False) == start + 6 * 3_600_000
    business = due_ms(berlin_team(), start, 6, business=True)
    assert business == int(datetime(2026, 3, 16, 14, 0, tzinfo=BERLIN).timestamp() * 1000)


def test_elapsed_business_hours_are_counted_between_two_times() -> None:
    cal = BusinessCalendar(berlin_team())
    start = datetime(2026, 3, 13, 16, 0, tzinfo=BERLIN)
    end = datetime(2026, 3, 16, 14, 0, tzinfo=BERLIN)
    assert cal.business_hours_between(start, end) == pytest.approx(6.0)
    assert cal.business_hours_between(end, start) == 0
