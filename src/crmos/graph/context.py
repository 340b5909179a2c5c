"""What one batch of the graph consumer shares: the connection, the workspace, the profiles
the events belong to, and the CEL activation of an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cel
from sqlalchemy import Connection

from crmos.core.event import Event
from crmos.core.settings import GraphSettings
from crmos.graph.model import node_id
from crmos.graph.pending import EdgeBuffer
from crmos.store import Decision

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Subject:
    """The profile an event belongs to: as first seen (``origin``) and live now (``root``)."""

    origin: str
    root: str

    @property
    def keys(self) -> tuple[str, str]:
        """(origin node id, live node id), the ends ``put_edge`` takes for this profile."""
        return node_id("profile", self.origin), node_id("profile", self.root)


@dataclass(slots=True)
class Batch:
    """One consumer call for one workspace (``edges``: the rule edges it changed, unwritten;
    ``now``: the time (core.clock) that decides which edges are still in force)."""

    conn: Connection
    workspace_id: str
    settings: GraphSettings
    subjects: dict[int, Subject]
    known: set[tuple[str, str]]
    edges: EdgeBuffer
    now: int
    touched: set[str] = field(default_factory=set)
    states: dict[tuple[str, str], tuple[dict[str, Any], int]] = field(default_factory=dict)
    stored_states: dict[str, dict[str, str]] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)


class Activation:
    """The CEL variables of an event, converted for CEL at most once per event and size.

    ``event`` holds the Segment fields in snake_case. Most rules read only the type, name and
    properties, so the slim form (without ``context`` and ``traits``, the bulky parts) serves
    them; rules that mention either get the full form.
    """

    __slots__ = ("_event", "_full", "_slim")

    def __init__(self, event: Event) -> None:
        self._event = event
        self._slim: cel.Context | None = None
        self._full: cel.Context | None = None

    def get(self, full: bool) -> cel.Context:
        """The slim or the full activation."""
        if full:
            if self._full is None:
                self._full = cel.Context(activation(self._event, full=True))
            return self._full
        if self._slim is None:
            self._slim = cel.Context(activation(self._event, full=False))
        return self._slim


def activation(event: Event, full: bool = True) -> dict[str, Any]:
    """The CEL variables of an event: ``event`` = Segment fields in snake_case."""
    body = event.body
    data: dict[str, Any] = {
        "type": event.type,
        "name": event.name or "",
        "properties": body.get("properties") or {},
        "user_id": event.user_id or "",
        "anonymous_id": event.anonymous_id or "",
        "group_id": body.get("groupId") or "",
        "timestamp_ms": ms(event),
        "touchpoint": event.touchpoint,
    }
    if full:
        context = body.get("context") or {}
        data["traits"] = body.get("traits") or context.get("traits") or {}
        data["context"] = context
    return {"event": data}


def ms(event: Event) -> int:
    """The event's (skew-corrected) time in epoch ms."""
    return int(event.timestamp.timestamp() * 1000)
