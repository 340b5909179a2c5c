"""Time: one place that says what "now" is, so tests and replays can pin it.

Every business timestamp (a row's ``created_ms``, an edge's end, a consent's time) comes from
:func:`utcnow` or :func:`now_ms`. :func:`pinned` fixes both for the length of a ``with``
block, in every thread of the process::

    with pinned(datetime(2026, 3, 1, tzinfo=UTC)) as clock:
        ...                        # now_ms() is 1772323200000
        clock.advance(timedelta(days=30))

Durations and timeouts are measured with ``time.monotonic``/``time.perf_counter``, which
no pin touches: a pinned clock must not make a wait last for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class PinnedClock:
    """A clock that stands still until it is moved: what :func:`pinned` hands a test."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware(at)

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime | int) -> datetime:
        """Move the clock to ``at`` (a time, or epoch milliseconds); returns the new time."""
        self.at = from_ms(at) if isinstance(at, int) else _aware(at)
        return self.at

    def advance(self, by: timedelta | int) -> datetime:
        """Move the clock on by ``by`` (a timedelta, or milliseconds); returns the new time."""
        self.at += by if isinstance(by, timedelta) else timedelta(milliseconds=by)
        return self.at


# The process-wide pin (None: the system clock). A module global on purpose: the timestamps
# are taken deep inside every room and in the consumer threads, where no test can hand a
# clock down; services that take a ``clock`` argument default to :func:`utcnow`, so they
# follow the pin too.
_pin: PinnedClock | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC (the pinned time inside :func:`pinned`)."""
    pin = _pin
    return datetime.now(UTC) if pin is None else pin.at


def now_ms() -> int:
    """The current time in epoch milliseconds (the pinned time inside :func:`pinned`)."""
    pin = _pin
    return time.time_ns() // 1_000_000 if pin is None else to_ms(pin.at)


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware time, exactly (no float rounding)."""
    return (value - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC time of epoch milliseconds ``ms``."""
    return EPOCH + timedelta(milliseconds=ms)


@contextmanager
def pinned(at: datetime | int | None = None) -> Iterator[PinnedClock]:
    """Fix :func:`utcnow` and :func:`now_ms` at ``at`` (a time, epoch milliseconds, or the
    real now when omitted) until the block ends; the clock it yields can be moved."""
    global _pin
    previous = _pin
    start = utcnow() if at is None else from_ms(at) if isinstance(at, int) else at
    clock = PinnedClock(start)
    _pin = clock
    try:
        yield clock
    finally:
        _pin = previous


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise TypeError(f"a pinned clock needs a timezone-aware time, not {value!r}")
    return value.astimezone(UTC)


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 time; a time without an offset is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    """Format a time as ISO 8601 in UTC with milliseconds and a ``Z``."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )
