"""CLDR formatting of dates, numbers and currencies through Babel (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import dates, numbers


def format_time(epoch_ms: int, locale: str, timezone: str = "UTC", width: str = "long") -> str:
    """A date and time in ``locale``'s words and ``timezone`` (``12. März 2026, 15:00:00 MEZ``)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return str(dates.format_datetime(moment, width, tzinfo=ZoneInfo(timezone), locale=locale))


def format_day(epoch_ms: int, locale: str, timezone: str = "UTC", width: str = "long") -> str:
    """A date alone in ``locale``'s words (``12. März 2026``)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(ZoneInfo(timezone))
    return str(dates.format_date(moment.date(), width, locale=locale))


def format_number(value: float | int | Decimal, locale: str) -> str:
    """A number with ``locale``'s separators (``1.234,5``)."""
    return str(numbers.format_decimal(value, locale=locale))


def format_money(value: float | int | Decimal, currency: str, locale: str) -> str:
    """An amount of ``currency`` as ``locale`` writes it (``1.234,50 €``, ``R$ 1.234,50``)."""
    return str(numbers.format_currency(value, currency, locale=locale))


def format_percent(value: float, locale: str) -> str:
    """A share as a percentage in ``locale`` (``87 %``)."""
    return str(numbers.format_percent(value, locale=locale))
