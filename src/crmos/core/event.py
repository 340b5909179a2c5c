"""The Event: one piece of ingested customer data, as every room downstream sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

EventType = Literal["track", "identify", "page", "screen", "group", "alias"]
EVENT_TYPES: tuple[EventType, ...] = ("track", "identify", "page", "screen", "group", "alias")


@dataclass(frozen=True, slots=True)
class Event:
    """An accepted event in Segment's shape plus what intake added.

    ``body`` is the Segment message (``properties``, ``traits``, ``context`` ...) with
    ``timestamp`` corrected for clock skew; ``touchpoint`` is the source system it came from.
    """

    workspace_id: str
    message_id: str
    type: EventType
    user_id: str | None
    anonymous_id: str | None
    name: str | None
    timestamp: datetime
    received_at: datetime
    touchpoint: str
    body: dict[str, Any]
    seq: int | None = None

    @property
    def subject(self) -> str:
        """The key whose data key encrypts this event's personal fields."""
        return f"user:{self.user_id}" if self.user_id else f"anon:{self.anonymous_id}"
