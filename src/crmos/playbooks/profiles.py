"""The profile side of an event: which profile it belongs to, and the CEL activation.

Identity stitched every event before triggers see it (it consumes the log first); one query per
batch finds each event's live profile with its traits and flags. Graph facts (role scores,
strongest edges) are read only for workspaces whose conditions mention ``graph``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from crmos.analytics import facts_of as analytics_of
from crmos.core.event import Event
from crmos.graph import neighbours, node_id, scores_of
from crmos.identity import event_profiles, live_profiles


@dataclass(frozen=True, slots=True)
class ProfileFacts:
    """What conditions may read about a profile."""

    id: str
    traits: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    analytics: dict[str, Any] = field(default_factory=dict)


def profiles_of(conn: Connection, events: Sequence[Event]) -> dict[int, ProfileFacts]:
    """The live profile of each stitched event, by event ``seq``."""
    seqs = [e.seq for e in events if e.seq is not None]
    if not seqs:
        return {}
    roots = {seq: root for seq, (_, root) in event_profiles(conn, seqs).items()}
    facts = _facts(conn, set(roots.values()))
    return {seq: facts[root] for seq, root in roots.items() if root in facts}


def facts_of(conn: Connection, ids: Iterable[str]) -> dict[str, ProfileFacts]:
    """Traits, flags and analytics values of live profiles, by id."""
    return _facts(conn, ids)


def _facts(conn: Connection, ids: Iterable[str]) -> dict[str, ProfileFacts]:
    live = live_profiles(conn, ids)
    values = analytics_of(conn, None, list(live))  # CLV and likelihoods, where scored
    return {
        pid: ProfileFacts(
            pid, p.traits, {"marketing_suppressed": p.marketing_suppressed}, values.get(pid, {})
        )
        for pid, p in live.items()
    }


def event_dict(event: Event) -> dict[str, Any]:
    """The ``event`` variable of conditions."""
    body = event.body
    return {
        "id": event.message_id,
        "type": event.type,
        "name": event.name or "",
        "properties": body.get("properties") or {},
        "traits": body.get("traits") or {},
        "context": body.get("context") or {},
        "touchpoint": event.touchpoint,
        "user_id": event.user_id or "",
        "timestamp_ms": ts_ms(event),
    }


# The edge types conditions see under ``graph.edges`` (the graph's structural, shipped-rule and
# manual types), and how many of the strongest edges of each type.
EDGE_TYPES = ("works_at", "uses_device", "attended", "co_attended", "potential_partner", "related")
EDGES_PER_TYPE = 20


def graph_facts(conn: Connection, workspace_id: str, profile_id: str, at_ms: int) -> dict[str, Any]:
    """The ``graph`` variable of conditions: role/intent confidences at ``at_ms`` by name, the
    strongest edges of the profile by type (``{node, weight}``), and its accounts."""
    scores = {s["name"]: s["confidence"] for s in scores_of(conn, workspace_id, profile_id, at_ms)}
    edges: dict[str, list[dict[str, Any]]] = {}
    node = node_id("profile", profile_id)
    for _, type_, weight, other in neighbours(
        conn, workspace_id, [node], EDGE_TYPES, EDGES_PER_TYPE
    ):
        edges.setdefault(type_, []).append({"node": other, "weight": round(weight, 6)})
    accounts = [e["node"].partition(":")[2] for e in edges.get("works_at", [])]
    return {"scores": scores, "edges": edges, "accounts": accounts}


def activation(
    event: Event | None, facts: ProfileFacts, graph: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every variable a condition may read for ``event`` (none: a timer) of ``facts``; ``graph``
    holds the profile's graph facts when a condition reads them (see :func:`graph_facts`)."""
    account = {"name": facts.traits.get("company"), "id": facts.traits.get("company_id")}
    profile = {"id": facts.id, "traits": facts.traits, "flags": facts.flags}
    return {
        "event": {} if event is None else event_dict(event),
        "profile": profile,
        "traits": facts.traits,
        "flags": facts.flags,
        "account": {k: v for k, v in account.items() if v is not None},
        "graph": graph or {},
        "analytics": facts.analytics,
    }


def ts_ms(event: Event) -> int:
    """The event's time in epoch milliseconds."""
    return int(event.timestamp.timestamp() * 1000)
