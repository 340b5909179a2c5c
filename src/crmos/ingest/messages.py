"""The Segment HTTP Tracking API messages, as typed msgspec structs (decoded at the edge).

Field names on the wire are Segment's camelCase ones; unknown fields are refused so a typo
(``userid``) is an error instead of silently lost data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

Id = str | int


class Message(
    msgspec.Struct,
    tag_field="type",
    rename="camel",
    forbid_unknown_fields=True,
    kw_only=True,
    omit_defaults=True,
):
    """Fields every Segment message may carry."""

    message_id: str | None = None
    user_id: Id | None = None
    anonymous_id: Id | None = None
    timestamp: datetime | None = None
    sent_at: datetime | None = None
    original_timestamp: datetime | None = None
    received_at: datetime | None = None
    context: dict[str, Any] = {}
    integrations: dict[str, Any] = {}
    write_key: str | None = None
    # Sent by analytics.js and the RudderStack SDKs; accepted so they work unchanged.
    metadata: dict[str, Any] | None = msgspec.field(default=None, name="_metadata")
    channel: str | None = None
    version: Id | None = None
    rudder_id: str | None = None
    request_ip: str | None = None


class Track(Message, tag="track"):
    """A user action: ``event`` names it."""

    event: str
    properties: dict[str, Any] = {}


class Identify(Message, tag="identify"):
    """Who the user is: ``traits``."""

    traits: dict[str, Any] = {}


class Page(Message, tag="page"):
    """A web page view."""

    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = {}


class Screen(Message, tag="screen"):
    """A mobile screen view."""

    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = {}


class Group(Message, tag="group"):
    """The user belongs to a group (an account, a company)."""

    group_id: Id
    traits: dict[str, Any] = {}


class Alias(Message, tag="alias"):
    """``previousId`` and ``userId`` are the same user."""

    previous_id: Id


AnyMessage = Track | Identify | Page | Screen | Group | Alias

BY_TYPE: dict[str, type[Message]] = {
    "track": Track,
    "identify": Identify,
    "page": Page,
    "screen": Screen,
    "group": Group,
    "alias": Alias,
}


class Envelope(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """The body of ``POST /v1/batch``: shared fields apply to every message in it."""

    batch: list[msgspec.Raw]
    sent_at: datetime | None = None
    write_key: str | None = None
    context: dict[str, Any] = {}
    integrations: dict[str, Any] = {}
    metadata: dict[str, Any] | None = msgspec.field(default=None, name="_metadata")
