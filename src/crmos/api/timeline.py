"""One timeline per profile: events, interactions, playbook firings, saga runs and their steps,
decisions, recommendations, data-subject requests and merges, newest first, filtered and
cursor-paged. A run belongs to the profile it acts for (its subject), whatever started it.

Every room is read through its public functions. Each source is asked only for what can be on
the page: at most ``limit + 1`` entries at or before the cursor's time (the event log, the
decisions and the saga steps are paged by time in SQL; the rooms that keep few entries per
person are read whole, up to ``PER_PERSON``). The sources' entries are then merged in one
order, (time, kind, tie) descending, and the cursor is the position of the last one shown:
``TIME.KIND.TIE`` in plain text, so any string of that form is a valid place to resume.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from crmos.agent import list_interactions, list_recommendations
from crmos.bootstrap import Container
from crmos.compliance import list_requests
from crmos.core.clock import iso
from crmos.core.errors import Problem, ValidationError
from crmos.identity import event_marks, merges_of, profile_tree
from crmos.sagas import RunInfo
from crmos.store import decisions_of

KINDS = (
    "event", "interaction", "firing", "run", "step", "decision", "recommendation", "dsr", "merge",
)  # fmt: skip
WITH_TOUCHPOINT = frozenset({"event", "interaction"})
"""Only these kinds carry a touchpoint: a touchpoint filter leaves out the others."""
PER_PERSON = 500
"""Interactions, recommendations and requests read per profile of the tree at most."""
FIRINGS_SCANNED = 200
"""A page's saga steps come from the runs of this many of the newest firings before it, and of
as many of the newest runs whose subject is in the tree (runs started through the API)."""
CURSOR_PATTERN = r"^[0-9]{1,16}\.[a-z]{1,16}\.[0-9a-f]{16}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_LAST_SEQ = 2**62


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """Where an entry sits in the timeline's order; a cursor names the last one shown."""

    at_ms: int
    kind: str
    tie: str

    def encode(self) -> str:
        """The cursor text: ``TIME.KIND.TIE``."""
        return f"{self.at_ms}.{self.kind}.{self.tie}"

    @classmethod
    def parse(cls, text: str) -> Position:
        """A cursor back as a position; ``ValidationError`` when it is not ``TIME.KIND.TIE``."""
        if not _CURSOR.match(text):
            problem = Problem("cursor", "use next_cursor of the previous page, unchanged")
            raise ValidationError("malformed cursor", [problem])
        at, kind, tie = text.split(".")
        return cls(int(at), kind, tie)


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """What a page of the timeline shows."""

    kinds: frozenset[str] = frozenset()
    touchpoint: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    cursor: Position | None = None
    limit: int = 25

    def bound(self) -> Position | None:
        """Entries must sit strictly before this (the cursor, or ``until``)."""
        until = None if self.until_ms is None else Position(self.until_ms, "", "")
        if self.cursor is None or until is None:
            return self.cursor or until
        return min(self.cursor, until)

    def wants(self, kind: str) -> bool:
        """Whether entries of ``kind`` can be on the page."""
        if self.kinds and kind not in self.kinds:
            return False
        return self.touchpoint is None or kind in WITH_TOUCHPOINT


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of the timeline."""

    kind: str
    id: str
    at_ms: int
    title: str
    detail: str = ""
    touchpoint: str = ""
    links: dict[str, str] = field(default_factory=dict)
    tie: str = ""

    @property
    def position(self) -> Position:
        """Its place in the order."""
        return Position(self.at_ms, self.kind, self.tie or _hash(self.id))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        at = datetime.fromtimestamp(self.at_ms / 1000, UTC)
        return {
            "kind": self.kind,
            "id": self.id,
            "at_ms": self.at_ms,
            "at": iso(at),
            "title": self.title,
            "detail": self.detail,
            "touchpoint": self.touchpoint,
            "links": self.links,
        }


@dataclass(frozen=True, slots=True)
class Ask:
    """What every source is asked: the profile tree, the filters and how many entries."""

    c: Container
    conn: Connection
    ws: str
    tree: list[str]
    query: TimelineQuery
    bound: Position | None
    firings: list[dict[str, Any]] = field(default_factory=list)
    """The newest firings about the tree at or before the bound (read once for two sources)."""
    runs: list[RunInfo] = field(default_factory=list)
    """The newest runs acting for the tree, created at or before the bound (for two sources)."""

    @property
    def until_ms(self) -> int | None:
        """The latest time an entry on the page can have (inclusive)."""
        return None if self.bound is None else self.bound.at_ms

    @property
    def wanted(self) -> int:
        """Entries each source gives at most: one more than a page, to know if more exist."""
        return self.query.limit + 1


def timeline_page(
    c: Container, conn: Connection, workspace_id: str, profile_id: str, query: TimelineQuery
) -> dict[str, Any]:
    """A page of the profile's timeline: ``data`` newest first, ``next_cursor`` or null.

    ``profile_id`` may be merged: the timeline is its surviving profile's, whole tree included.
    """
    tree = profile_tree(conn, workspace_id, profile_id)
    bound = query.bound()
    firings: list[dict[str, Any]] = []
    runs: list[RunInfo] = []
    until_ms = None if bound is None else bound.at_ms
    if query.wants("firing") or query.wants("step"):
        firings = c.playbooks.firings(
            workspace_id, None, FIRINGS_SCANNED, profiles=tree, until_ms=until_ms
        )
    if query.wants("run") or query.wants("step"):
        runs = c.runs.about(workspace_id, tree, until_ms=until_ms, limit=FIRINGS_SCANNED)
    ask = Ask(c, conn, workspace_id, tree, query, bound, firings, runs)
    found: list[Item] = []
    for kind, source in SOURCES.items():
        if query.wants(kind):
            found += source(ask)
    kept = [i for i in found if _keeps(ask, i)]
    kept.sort(key=lambda i: i.position, reverse=True)
    page = kept[: query.limit]
    more = len(kept) > query.limit
    return {
        "profile_id": tree[0],
        "requested_id": profile_id,
        "data": [i.as_dict() for i in page],
        "next_cursor": page[-1].position.encode() if more and page else None,
    }


def _keeps(ask: Ask, item: Item) -> bool:
    q = ask.query
    if ask.bound is not None and not item.position < ask.bound:
        return False
    if q.since_ms is not None and item.at_ms < q.since_ms:
        return False
    return q.touchpoint is None or item.touchpoint == q.touchpoint


def _events(ask: Ask) -> list[Item]:
    before = None
    if ask.bound is not None:
        b = ask.bound
        # Events tie on seq; a cursor of another kind at the same time keeps all or none.
        seq = int(b.tie, 16) if b.kind == "event" else _LAST_SEQ if b.kind > "event" else 0
        before = (b.at_ms, seq)
    marks = event_marks(
        ask.conn,
        ask.ws,
        ask.tree,
        before=before,
        since_ms=ask.query.since_ms,
        source=ask.query.touchpoint,
        limit=ask.wanted,
    )
    heads = {r.seq: r for r in ask.c.log.headers(ask.conn, ask.ws, [m.seq for m in marks])}
    out = []
    for m in marks:
        head = heads.get(m.seq)  # None once the event left the hot log (tiers, erasure)
        name = (head.name or head.type) if head is not None else "event"
        tags = orjson.loads(head.tags) if head is not None and head.tags else {}
        detail = " · ".join(str(v) for v in (head.type if head else "", tags.get("intent")) if v)
        out.append(
            Item(
                "event",
                head.message_id if head is not None else str(m.seq),
                m.ts_ms,
                str(name),
                detail,
                m.source,
                {"seq": str(m.seq)},
                f"{m.seq:016x}",
            )
        )
    return out


def _interactions(ask: Ask) -> list[Item]:
    return [
        Item(
            "interaction",
            i["id"],
            int(i.get("occurred_ms") or i["received_ms"]),
            str(i.get("subject") or i["kind"]),
            str((i.get("tags") or {}).get("intent") or ""),
            str(i.get("touchpoint") or ""),
            {"interaction_id": i["id"]},
        )
        for pid in ask.tree
        for i in list_interactions(ask.conn, ask.ws, pid, PER_PERSON)
    ]


def _firings(ask: Ask) -> list[Item]:
    return [_firing(f) for f in ask.firings[: ask.wanted]]


def _firing(f: dict[str, Any]) -> Item:
    links = {k: str(f[k]) for k in ("decision_id", "run_id") if f.get(k)}
    detail = " · ".join(str(v) for v in (f["status"], f.get("variant")) if v)
    return Item("firing", f["id"], int(f["created_ms"]), f["playbook_id"], detail, "", links)


def _runs(ask: Ask) -> list[Item]:
    return [
        Item("run", r.id, r.created_ms, r.name, r.status, "", {"run_id": r.id})
        for r in ask.runs[: ask.wanted]
    ]


def _steps(ask: Ask) -> list[Item]:
    fired = (str(f["run_id"]) for f in ask.firings if f.get("run_id"))
    runs = list(dict.fromkeys([*fired, *(r.id for r in ask.runs)]))
    entries = ask.c.runs.entries(ask.ws, runs, ask.until_ms, ask.wanted)
    return [
        Item(
            "step",
            f"{e.run_id}:{e.step_id}:{e.phase}:{e.attempt}",
            e.started_ms,
            e.step_id,
            " · ".join(str(v) for v in (e.phase, e.status, e.error) if v),
            "",
            {"run_id": e.run_id},
        )
        for e in entries
    ]


def _decisions(ask: Ask) -> list[Item]:
    found = decisions_of(
        ask.conn, ask.ws, None, ask.wanted, profiles=ask.tree, until_ms=ask.until_ms
    )
    return [
        Item(
            "decision",
            d.id,
            d.at_ms,
            d.reason,
            f"{d.kind} · {d.rule} {d.version}",
            "",
            {"decision_id": d.id},
        )
        for d in found
    ]


def _recommendations(ask: Ask) -> list[Item]:
    return [
        Item(
            "recommendation",
            r["id"],
            int(r["created_ms"]),
            r["title"],
            r["status"],
            "",
            {"recommendation_id": r["id"]},
        )
        for pid in ask.tree
        for r in list_recommendations(ask.conn, ask.ws, pid, limit=PER_PERSON)
    ]


def _requests(ask: Ask) -> list[Item]:
    return [
        Item("dsr", r.id, r.received_ms, r.kind, r.status, "", {"dsr_id": r.id})
        for pid in ask.tree
        for r in list_requests(ask.conn, ask.ws, profile_id=pid, limit=PER_PERSON)
    ]


def _merges(ask: Ask) -> list[Item]:
    out = []
    for m in merges_of(ask.conn, ask.ws, ask.tree):
        out.append(Item("merge", m["id"], m["created_ms"], m["reason"], "merge", ""))
        if m["split_ms"]:
            reason = str(m["split_reason"] or "")
            out.append(Item("merge", f"{m['id']}:split", m["split_ms"], reason, "split", ""))
    return out


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


SOURCES: dict[str, Callable[[Ask], list[Item]]] = {
    "event": _events,
    "interaction": _interactions,
    "firing": _firings,
    "run": _runs,
    "step": _steps,
    "decision": _decisions,
    "recommendation": _recommendations,
    "dsr": _requests,
    "merge": _merges,
}
assert tuple(SOURCES) == KINDS, "every kind has a source"
