"""From a validated Segment message to a row ready for the event log (pure, no I/O).

It corrects clock skew with ``sentAt`` the way Segment does
(``timestamp = receivedAt - (sentAt - originalTimestamp)``), picks the touchpoint, and splits
personal fields out of the body so the writer can encrypt them with the subject's data key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from crmos.core.clock import iso
from crmos.core.ids import new_id
from crmos.ingest.messages import BY_TYPE, Alias, Group, Message, Page, Screen, Track

_to_builtins = msgspec.to_builtins
_TYPE_NAMES: dict[type[Message], str] = {cls: name for name, cls in BY_TYPE.items()}


@dataclass(frozen=True, slots=True)
class Prepared:
    """One event ready to be written: plain columns, the body JSON and its personal fields."""

    message_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    name: str | None
    ts_ms: int
    received_ms: int
    touchpoint: str
    body: dict[str, Any]
    pii: dict[str, Any] | None
    sequence: int | None

    @property
    def subject(self) -> str:
        """The data-key subject of this event: its user, else its anonymous id."""
        return f"user:{self.user_id}" if self.user_id else f"anon:{self.anonymous_id}"


@dataclass(frozen=True, slots=True)
class Shared:
    """What a request adds to each of its messages."""

    received_at: datetime
    default_touchpoint: str
    sent_at: datetime | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    # Formatted once per request or chunk instead of once per event (the hot path).
    received_iso: str = field(init=False, repr=False, compare=False)
    received_ms: int = field(init=False, repr=False, compare=False)
    sent_iso: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "received_iso", _iso(self.received_at))
        set_(self, "received_ms", int(self.received_at.timestamp() * 1000))
        sent_at = _aware(self.sent_at)
        set_(self, "sent_iso", None if sent_at is None else _iso(sent_at))


def prepare(message: Message, shared: Shared, pii_properties: frozenset[str]) -> Prepared:
    """Normalise one validated message."""
    body: dict[str, Any] = _to_builtins(message)
    context = body.get("context") or {}
    if shared.context:
        context = {**shared.context, **context}
    original = _aware(message.timestamp or message.original_timestamp)
    timestamp, sent_iso = _times(message, shared, original)
    timestamp_iso = _iso(timestamp)
    body.update(
        type=_TYPE_NAMES.get(type(message)) or type(message).__name__.lower(),
        context=context,
        timestamp=timestamp_iso,
        receivedAt=shared.received_iso,
    )
    if shared.integrations:
        body["integrations"] = {**shared.integrations, **message.integrations}
    if original is not None:
        # Without sentAt there is no skew to correct: the same instant, formatted once.
        body["originalTimestamp"] = timestamp_iso if original is timestamp else _iso(original)
    if sent_iso is not None:
        body["sentAt"] = sent_iso
    body.pop("writeKey", None)
    message_id = str(message.message_id or new_id("srv-"))
    body["messageId"] = message_id
    user_id, anonymous_id = _str(message.user_id), _str(message.anonymous_id)
    _put_ids(body, user_id, anonymous_id)
    return Prepared(
        message_id,
        body["type"],
        user_id,
        anonymous_id,
        _name(message),
        int(timestamp.timestamp() * 1000),
        shared.received_ms,
        _touchpoint(context, shared.default_touchpoint),
        body,
        split_pii(body, pii_properties),
        _sequence(context),
    )


def _times(
    message: Message, shared: Shared, original: datetime | None
) -> tuple[datetime, str | None]:
    """The corrected event time and the ISO ``sentAt`` (the request's, formatted once)."""
    if message.sent_at is not None:
        sent_at = message.sent_at if message.sent_at.tzinfo else message.sent_at.replace(tzinfo=UTC)
        return corrected_time(original, sent_at, shared.received_at), _iso(sent_at)
    return corrected_time(original, _aware(shared.sent_at), shared.received_at), shared.sent_iso


def corrected_time(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Segment's clock-skew correction: shift the client's time by its clock's offset."""
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return received_at - (sent_at - original)


def split_pii(body: dict[str, Any], pii_properties: frozenset[str]) -> dict[str, Any] | None:
    """Remove personal fields from ``body`` (in place); return them, or None when there are none.

    Every trait is personal; so are ``context.traits``, ``context.ip`` and the properties named
    in ``pii_properties``. The result maps a dotted path to the value it had.
    """
    found: dict[str, Any] = {}
    if body.get("traits"):
        found["traits"] = body.pop("traits")
    context = body.get("context") or {}
    for key in ("traits", "ip"):
        if key in context:
            found[f"context.{key}"] = context.pop(key)
    props = body.get("properties")
    if props:
        for key in pii_properties.intersection(props):
            found[f"properties.{key}"] = props.pop(key)
    return found or None


def join_pii(body: dict[str, Any], pii: dict[str, Any]) -> dict[str, Any]:
    """Put personal fields split off by :func:`split_pii` back into ``body`` (in place)."""
    for path, value in pii.items():
        head, _, tail = path.partition(".")
        if not tail:
            body[head] = value
        else:
            body.setdefault(head, {})[tail] = value
    return body


def _iso(value: datetime) -> str:
    """:func:`crmos.core.clock.iso`, twice as fast: ``isoformat`` is C, ``strftime`` is not."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # strftime does not zero-pad such years; keep iso()'s spelling
        return iso(value)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _str(value: str | int | None) -> str | None:
    return None if value is None or value == "" else str(value)


def _put_ids(body: dict[str, Any], user_id: str | None, anonymous_id: str | None) -> None:
    for key, value in (("userId", user_id), ("anonymousId", anonymous_id)):
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value


def _name(message: Message) -> str | None:
    if isinstance(message, Track):
        return message.event
    if isinstance(message, Page | Screen):
        return message.name
    if isinstance(message, Group):
        return str(message.group_id)
    if isinstance(message, Alias):
        return str(message.previous_id)
    return None


def _touchpoint(context: dict[str, Any], default: str) -> str:
    value = context.get("touchpoint")
    return value[:64] if isinstance(value, str) and value else default


def _sequence(context: dict[str, Any]) -> int | None:
    value = context.get("sequence")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
