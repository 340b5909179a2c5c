"""Business calendars per team: time zone, public holidays (country and subdivision), working
hours. SLA due times are computed in business time, so a 6-hour SLA on a complaint received
on Friday at 16:00 in Berlin is due on Monday at 14:00 (Berlin time).

"Today" is always the team's local date: a team in Tokyo and one in Berlin agree on what a
given instant is, and each knows which day it is for them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from crmos.compliance import Team

MAX_DAYS = 3660
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessCalendar:
    """One team's business time."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.zone = ZoneInfo(team.timezone)
        self._holidays = (
            holidays.country_holidays(team.country, subdiv=team.subdivision)
            if team.country
            else None
        )
        self._closed = {date.fromisoformat(d) for d in team.extra_closed}
        self._spans = {
            WEEKDAYS.index(day): [_span(s) for s in spans] for day, spans in team.hours.items()
        }

    def today(self, now: datetime) -> date:
        """The team's local date at ``now``."""
        return now.astimezone(self.zone).date()

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is neither a public holiday nor an extra closed day."""
        if day in self._closed or not self._spans.get(day.weekday()):
            return False
        return self._holidays is None or day not in self._holidays

    def holiday(self, day: date) -> str | None:
        """The public holiday's name on ``day``, if any."""
        return None if self._holidays is None else self._holidays.get(day)

    def add(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of business time (UTC).

        Arithmetic is done in UTC: Python subtracts two times of the same zone on the wall
        clock, which would count a daylight-saving day as 24 hours.
        """
        remaining = timedelta(hours=hours)
        cursor = start.astimezone(UTC)
        for _ in range(MAX_DAYS):
            day = cursor.astimezone(self.zone).date()
            for begin, end in self._open_spans(day):
                begin = max(cursor, begin)
                if end <= begin:
                    continue
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
            cursor = _at(day + timedelta(days=1), time(0), self.zone).astimezone(UTC)
        raise ValueError(f"team has no business hours within {MAX_DAYS} days; check its hours")

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours elapsed from ``start`` to ``end`` (0 when ``end`` is earlier)."""
        total = timedelta()
        cursor, stop = start.astimezone(UTC), end.astimezone(UTC)
        while cursor < stop:
            day = cursor.astimezone(self.zone).date()
            for begin, finish in self._open_spans(day):
                begin, finish = max(cursor, begin), min(stop, finish)
                if finish > begin:
                    total += finish - begin
            cursor = _at(day + timedelta(days=1), time(0), self.zone).astimezone(UTC)
        return total.total_seconds() / 3600

    def _open_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working spans as UTC times (none on a closed day)."""
        if not self.is_business_day(day):
            return []
        return [
            (
                _at(day, opens, self.zone).astimezone(UTC),
                _close(day, closes, self.zone).astimezone(UTC),
            )
            for opens, closes in self._spans[day.weekday()]
        ]


_CALENDARS: dict[str, BusinessCalendar] = {}


def calendar_of(team: Team) -> BusinessCalendar:
    """A cached calendar per team definition (a definition never changes once built)."""
    key = team.model_dump_json()
    found = _CALENDARS.get(key)
    if found is None:
        found = _CALENDARS[key] = BusinessCalendar(team)
    return found


def due_ms(team: Team, start_ms: int, hours: float, business: bool) -> int:
    """When ``hours`` after ``start_ms`` end: in the team's business time, or plain time."""
    if not business:
        return start_ms + int(hours * 3_600_000)
    start = datetime.fromtimestamp(start_ms / 1000, UTC)
    return int(calendar_of(team).add(start, hours).timestamp() * 1000)


def _span(text: str) -> tuple[time, time | None]:
    """``09:00-17:00`` as (opens, closes); ``24:00`` closes at the next midnight (None)."""
    opens, closes = text.split("-")
    return time.fromisoformat(opens), None if closes == "24:00" else time.fromisoformat(closes)


def _close(day: date, closes: time | None, zone: ZoneInfo) -> datetime:
    return _at(day + timedelta(days=1), time(0), zone) if closes is None else _at(day, closes, zone)


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone)
