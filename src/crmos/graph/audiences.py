"""Real-time audiences: a named CEL condition over a profile's traits, events, edges and scores.

The graph consumer re-evaluates the audiences of every profile an event touched, in the same
transaction as the event's effects, so membership follows an event within the stream's lag.
The condition sees ``traits`` (name -> value), ``events`` (name -> {count, last_ms}),
``edges`` (type -> count), ``scores`` (role -> confidence) and ``now_ms``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import cel
from sqlalchemy import Connection, delete, func, select

from crmos.core.clock import now_ms
from crmos.core.errors import Conflict, NotFound, Problem, ValidationError
from crmos.core.ids import new_id
from crmos.graph.model import node_id
from crmos.graph.scores import scores_of
from crmos.identity import live_ids, recent_live_profiles, traits_of, tree_ids
from crmos.store import Decision, append_audit, record_decision
from crmos.store.dialect import insert_ignore
from crmos.store.tables_graph import (
    graph_activity,
    graph_adjacency,
    graph_audience_members,
    graph_audience_picks,
    graph_audiences,
)

_g = graph_audiences.c
_m = graph_audience_members.c
_p = graph_audience_picks.c
_CHUNK = 500
BACKFILL = 100_000
HAND_PICKED = "hand_picked"
"""The condition of an audience whose members are added by hand (a saved list from the
console's bulk action): it is never evaluated, so no event adds or removes anyone. The profiles
picked are kept apart from the members: the members are the picks' live profiles, which
:func:`follow_picks` keeps true across merges and splits."""


@dataclass(frozen=True, slots=True)
class Audience:
    """An audience definition."""

    id: str
    workspace_id: str
    name: str
    condition: str
    created_ms: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "name": self.name,
            "condition": self.condition,
            "created_ms": self.created_ms,
        }


def compile_condition(condition: str) -> cel.Program:
    """Compile an audience condition; ``ValidationError`` naming the problem."""
    try:
        return cel.compile(condition)
    except ValueError as exc:
        message = " ".join(str(exc).split())[:300]
        raise ValidationError("bad audience condition", [Problem("condition", message)]) from exc


def create_audience(
    conn: Connection, workspace_id: str, name: str, condition: str, actor: str
) -> Audience:
    """Define an audience and fill it from the profiles seen so far (a ``HAND_PICKED`` one
    starts empty: see :func:`add_members`)."""
    if not name.strip() or len(name) > 200:
        raise ValidationError("bad audience name", [Problem("name", "1 to 200 characters")])
    program = None if condition == HAND_PICKED else compile_condition(condition)
    taken = conn.execute(
        select(_g.id).where(_g.workspace_id == workspace_id, _g.name == name)
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict("audience", name, f"its id is {taken}; pick another name")
    audience = Audience(new_id("aud_"), workspace_id, name, condition, now_ms())
    conn.execute(graph_audiences.insert().values(**audience.as_dict(), workspace_id=workspace_id))
    if program is not None:
        _backfill(conn, audience, program)
    append_audit(conn, workspace_id, actor, "audience.create", audience.id, {"name": name})
    return audience


def _backfill(conn: Connection, audience: Audience, program: cel.Program) -> None:
    """Fill a new audience from the most recently updated live profiles."""
    for root in recent_live_profiles(conn, audience.workspace_id, BACKFILL):
        _apply(conn, audience, program, root, None, record=False)


def get_audience(conn: Connection, workspace_id: str, audience_id: str) -> Audience:
    """An audience of the workspace, or ``NotFound``."""
    row = conn.execute(
        select(graph_audiences).where(_g.workspace_id == workspace_id, _g.id == audience_id)
    ).one_or_none()
    if row is None:
        raise NotFound("audience", audience_id)
    return Audience(row.id, row.workspace_id, row.name, row.condition, row.created_ms)


def list_audiences(conn: Connection, workspace_id: str) -> list[Audience]:
    """The workspace's audiences by name."""
    rows = conn.execute(
        select(graph_audiences).where(_g.workspace_id == workspace_id).order_by(_g.name)
    )
    return [Audience(r.id, r.workspace_id, r.name, r.condition, r.created_ms) for r in rows]


def delete_audience(conn: Connection, workspace_id: str, audience_id: str, actor: str) -> None:
    """Remove an audience and its members."""
    audience = get_audience(conn, workspace_id, audience_id)
    conn.execute(delete(graph_audience_members).where(_m.audience_id == audience.id))
    conn.execute(delete(graph_audience_picks).where(_p.audience_id == audience.id))
    conn.execute(delete(graph_audiences).where(_g.id == audience.id))
    append_audit(conn, workspace_id, actor, "audience.delete", audience.id, {"name": audience.name})


def members(
    conn: Connection, workspace_id: str, audience_id: str, limit: int = 100, after: str = ""
) -> dict[str, Any]:
    """A page of members (live profile ids in id order) and the total count."""
    audience = get_audience(conn, workspace_id, audience_id)
    rows = conn.execute(
        select(_m.profile_id, _m.since_ms, _m.seq)
        .where(_m.audience_id == audience.id, _m.profile_id > after)
        .order_by(_m.profile_id)
        .limit(limit)
    ).all()
    total = conn.execute(select(func.count()).where(_m.audience_id == audience.id)).scalar_one()
    data = [{"profile_id": r.profile_id, "since_ms": r.since_ms, "seq": r.seq} for r in rows]
    return {"audience": audience.as_dict(), "total": int(total), "data": data}


def add_members(
    conn: Connection, workspace_id: str, audience_id: str, profile_ids: list[str], actor: str
) -> int:
    """Add live profiles to a hand-picked audience; returns how many joined (the others were
    in it already). ``Conflict`` for an audience defined by a condition."""
    audience = get_audience(conn, workspace_id, audience_id)
    if audience.condition != HAND_PICKED:
        hint = "its members follow its condition; add people to a hand-picked audience"
        raise Conflict("audience", audience.name, hint)
    count = select(func.count()).where(_m.audience_id == audience.id)
    before = conn.execute(count).scalar_one()
    at = now_ms()
    live = live_ids(conn, workspace_id, profile_ids)
    if live:
        picks = [{"audience_id": audience.id, "profile_id": pid, "picked_ms": at} for pid in live]
        conn.execute(insert_ignore(conn.engine, graph_audience_picks), picks)
        rows = [
            {"audience_id": audience.id, "profile_id": pid, "since_ms": at, "seq": None}
            for pid in live
        ]
        conn.execute(insert_ignore(conn.engine, graph_audience_members), rows)
    added = int(conn.execute(count).scalar_one() - before)
    details = {"name": audience.name, "added": added, "asked": len(profile_ids)}
    append_audit(conn, workspace_id, actor, "audience.add", audience.id, details)
    return added


def follow_picks(conn: Connection, workspace_id: str, roots: dict[str, str]) -> None:
    """Hand-picked audiences after merges and splits: their members become the live profiles
    of the profiles picked. ``roots`` maps every profile of the trees a change touched to its
    live profile now (:func:`crmos.identity.tree_roots`), so each pick in those trees, and each
    member among them, is looked at: a survivor replaces a merged-away pick, and a split keeps
    the profile that was picked (and drops a survivor nobody picked)."""
    hand = select(_g.id).where(_g.workspace_id == workspace_id, _g.condition == HAND_PICKED)
    ids = sorted(roots)
    want: set[tuple[str, str]] = set()
    have: set[tuple[str, str]] = set()
    for i in range(0, len(ids), _CHUNK):
        part = ids[i : i + _CHUNK]
        picked = select(_p.audience_id, _p.profile_id).where(
            _p.audience_id.in_(hand), _p.profile_id.in_(part)
        )
        want |= {(r.audience_id, roots[r.profile_id]) for r in conn.execute(picked)}
        held = select(_m.audience_id, _m.profile_id).where(
            _m.audience_id.in_(hand), _m.profile_id.in_(part)
        )
        have |= {(r.audience_id, r.profile_id) for r in conn.execute(held)}
    for audience_id, pid in sorted(have - want):
        conn.execute(
            delete(graph_audience_members).where(
                _m.audience_id == audience_id, _m.profile_id == pid
            )
        )
    joined = [
        {"audience_id": audience_id, "profile_id": pid, "since_ms": now_ms(), "seq": None}
        for audience_id, pid in sorted(want - have)
    ]
    if joined:
        conn.execute(insert_ignore(conn.engine, graph_audience_members), joined)


def refresh(conn: Connection, workspace_id: str, roots: dict[str, int | None]) -> None:
    """Re-evaluate every audience of the workspace for live profiles (root -> event seq)."""
    audiences = [a for a in list_audiences(conn, workspace_id) if a.condition != HAND_PICKED]
    if not audiences or not roots:
        return
    programs = [(a, compile_condition(a.condition)) for a in audiences]
    for root, seq in roots.items():
        ctx = context_of(conn, workspace_id, root)
        for audience, program in programs:
            _apply(conn, audience, program, root, seq, record=True, ctx=ctx)


def _apply(
    conn: Connection,
    audience: Audience,
    program: cel.Program,
    root: str,
    seq: int | None,
    *,
    record: bool,
    ctx: dict[str, Any] | None = None,
) -> None:
    ctx = ctx if ctx is not None else context_of(conn, audience.workspace_id, root)
    try:
        inside = program.execute(ctx) is True
    except (KeyError, ValueError, TypeError, RuntimeError):
        inside = False  # a condition over a field the profile lacks does not hold
    key = (_m.audience_id == audience.id, _m.profile_id == root)
    if inside:
        row = {"audience_id": audience.id, "profile_id": root, "since_ms": now_ms(), "seq": seq}
        conn.execute(insert_ignore(conn.engine, graph_audience_members), row)
        return
    gone = conn.execute(delete(graph_audience_members).where(*key)).rowcount
    if gone and record:
        decision = Decision(
            workspace_id=audience.workspace_id,
            kind="audience.leave",
            rule=audience.id,
            version="sha256:" + hashlib.sha256(audience.condition.encode()).hexdigest()[:16],
            reason=f"profile no longer meets audience '{audience.name}'",
            subject_profile_id=root,
            inputs={"condition": audience.condition, "seq": seq},
        )
        record_decision(conn, decision)


def context_of(conn: Connection, workspace_id: str, root: str) -> dict[str, Any]:
    """The CEL variables an audience condition sees for a live profile."""
    a, j = graph_activity.c, graph_adjacency.c
    traits = traits_of(conn, workspace_id, root)
    tree = tree_ids(workspace_id, root)
    events = {
        r.name: {"count": int(r.n), "last_ms": int(r.last)}
        for r in conn.execute(
            select(a.name, func.sum(a.count).label("n"), func.max(a.last_ms).label("last"))
            .where(a.workspace_id == workspace_id, a.profile_id.in_(tree))
            .group_by(a.name)
        )
    }
    node = node_id("profile", root)
    edges = {
        r.type: int(r.n)
        for r in conn.execute(
            select(j.type, func.count().label("n"))
            .where(j.workspace_id == workspace_id, j.node == node)
            .group_by(j.type)
        )
    }
    scores = {s["name"]: s["confidence"] for s in scores_of(conn, workspace_id, root)}
    return {"traits": traits, "events": events, "edges": edges, "scores": scores} | {
        "now_ms": now_ms()
    }
