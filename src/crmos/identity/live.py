"""Identity's published reads: live profiles, their merge trees, decoded traits, and the profile
each stitched event belongs to.

Other rooms call these instead of reading identity's tables. A profile that was merged keeps its
id; it *resolves* to the live profile (the root of its merge tree) that holds it now. Hot paths
that join identity into their own statements (graph queries, audience conditions) take the
selectables :func:`tree_ids` and :func:`live_profile_key` rather than the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, func, literal, select
from sqlalchemy.sql.selectable import ScalarSelect

from crmos.ingest import field_types
from crmos.store.tables_identity import identity_conflicts, profile_events, profiles

_p, _e = profiles.c, profile_events.c
IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class LiveProfile:
    """A live profile as other rooms see it: decoded trait values and its flags."""

    id: str
    traits: dict[str, Any] = field(default_factory=dict)
    marketing_suppressed: bool = False


def trait_values(text: str | None) -> dict[str, Any]:
    """Trait values (name -> value) of identity's stored trait view, its sources dropped."""
    view = orjson.loads(text) if text else {}
    return {k: v[0] for k, v in (view or {}).items() if isinstance(v, list) and v}


def resolve(conn: Connection, workspace_id: str, profile_id: str) -> str | None:
    """The live profile ``profile_id`` resolves to (itself unless merged); None when unknown."""
    root = conn.execute(
        select(_p.root_id).where(_p.workspace_id == workspace_id, _p.id == profile_id)
    ).scalar_one_or_none()
    return None if root is None else str(root)


def live_profile_key(workspace_id: Any, profile_id: Any, prefix: str = "") -> ScalarSelect[Any]:
    """A scalar subquery: ``prefix`` + the live profile ``profile_id`` resolves to (NULL when
    unknown). Both arguments may be bound parameters or columns, so callers resolve a profile
    inside their own statement, in one round trip."""
    root: ColumnElement[Any] = _p.root_id if not prefix else literal(prefix).concat(_p.root_id)
    return (
        select(root).where(_p.workspace_id == workspace_id, _p.id == profile_id).scalar_subquery()
    )


def tree_ids(workspace_id: str, root_id: str) -> Select[tuple[str]]:
    """A selectable of every profile id in the merge tree of the live profile ``root_id``."""
    return select(_p.id).where(_p.workspace_id == workspace_id, _p.root_id == root_id)


def tree_roots(conn: Connection, workspace_id: str, ids: Iterable[str]) -> dict[str, str]:
    """Every profile in the trees now holding ``ids``, and the ids themselves: id -> live id."""
    wanted = sorted(set(ids))
    tops = select(_p.root_id).where(_p.id.in_(wanted))
    stmt = select(_p.id, _p.root_id).where(
        _p.workspace_id == workspace_id, _p.root_id.in_(tops) | _p.id.in_(wanted)
    )
    return {r.id: r.root_id for r in conn.execute(stmt)}


def live_ids(conn: Connection, workspace_id: str, ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that are live profiles of the workspace (merged-away and unknown ids are
    left out)."""
    found: list[str] = []
    for start in range(0, len(ids), 500):
        part = list(ids[start : start + 500])
        stmt = select(_p.id).where(
            _p.workspace_id == workspace_id, _p.id.in_(part), _p.id == _p.root_id
        )
        found.extend(conn.execute(stmt).scalars())
    return found


def recent_live_profiles(conn: Connection, workspace_id: str, limit: int) -> list[str]:
    """Up to ``limit`` live profiles of the workspace, most recently updated first."""
    return list(
        conn.execute(
            select(_p.id)
            .where(_p.workspace_id == workspace_id, _p.id == _p.root_id)
            .order_by(_p.updated_ms.desc())
            .limit(limit)
        ).scalars()
    )


def trait_shapes(conn: Connection, workspace_id: str, sample: int = 500) -> dict[str, str]:
    """The traits the ``sample`` most recently updated live profiles hold: dotted name -> JSON
    type (the builder completes CEL field names from them)."""
    rows = conn.execute(
        select(_p.traits)
        .where(_p.workspace_id == workspace_id, _p.id == _p.root_id)
        .order_by(_p.updated_ms.desc())
        .limit(sample)
    ).scalars()
    out: dict[str, str] = {}
    for text in rows:
        out |= field_types(trait_values(text))
    return dict(sorted(out.items()))


def count_live_profiles(conn: Connection, workspace_id: str) -> int:
    """How many live profiles the workspace has."""
    return int(
        conn.execute(
            select(func.count()).where(_p.workspace_id == workspace_id, _p.id == _p.root_id)
        ).scalar_one()
    )


def traits_of(conn: Connection, workspace_id: str, profile_id: str) -> dict[str, Any]:
    """Trait values of ``profile_id``'s own row (a live profile's are its tree's); {} if unknown."""
    text = conn.execute(
        select(_p.traits).where(_p.workspace_id == workspace_id, _p.id == profile_id)
    ).scalar_one_or_none()
    return trait_values(text)


def live_profiles(conn: Connection, ids: Iterable[str]) -> dict[str, LiveProfile]:
    """Traits and flags of the profiles ``ids`` (live ones, by id); unknown ids are left out."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = conn.execute(select(_p.id, _p.traits, _p.marketing_suppressed).where(_p.id.in_(wanted)))
    return {
        str(r.id): LiveProfile(str(r.id), trait_values(r.traits), bool(r.marketing_suppressed))
        for r in rows
    }


def suppressed(conn: Connection, profile_id: str) -> bool:
    """Whether marketing is suppressed on ``profile_id`` or any profile it resolves through."""
    row = conn.execute(
        select(_p.marketing_suppressed, _p.root_id).where(_p.id == profile_id)
    ).one_or_none()
    if row is None:
        return False
    if row.marketing_suppressed:
        return True
    if row.root_id != profile_id:
        return suppressed(conn, str(row.root_id))
    return False


def event_profiles(conn: Connection, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
    """For each stitched event ``seq``: (the profile it joined, the live profile it is now)."""
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(seqs), IN_CHUNK):
        stmt = (
            select(_e.seq, _e.profile_id, _p.root_id)
            .select_from(profile_events.join(profiles, _p.id == _e.profile_id))
            .where(_e.seq.in_(seqs[i : i + IN_CHUNK]))
        )
        out |= {int(r.seq): (str(r.profile_id), str(r.root_id)) for r in conn.execute(stmt)}
    return out


def event_seqs(conn: Connection, profile_ids: Iterable[str]) -> list[int]:
    """The events stitched to ``profile_ids`` (the profiles they first joined), in log order."""
    ids, seqs = list(profile_ids), list[int]()
    for start in range(0, len(ids), IN_CHUNK):
        part = ids[start : start + IN_CHUNK]
        seqs += conn.execute(select(_e.seq).where(_e.profile_id.in_(part))).scalars()
    return sorted(int(s) for s in seqs)


def attributed_since(conn: Connection, workspace_id: str, since_ms: int) -> int:
    """How many events of the workspace identity attributed, by event time ``>= since_ms``."""
    return int(
        conn.execute(
            select(func.count()).where(_e.workspace_id == workspace_id, _e.ts_ms >= since_ms)
        ).scalar_one()
    )


def attributed_series(
    conn: Connection, workspace_id: str, since_ms: int, step_ms: int
) -> dict[tuple[int, str], int]:
    """Events identity attributed per ``step_ms`` bucket of event time and source, from
    ``since_ms``: (bucket start, source) -> count."""
    bucket = (_e.ts_ms - _e.ts_ms % step_ms).label("bucket")
    stmt = (
        select(bucket, _e.source, func.count().label("n"))
        .where(_e.workspace_id == workspace_id, _e.ts_ms >= since_ms)
        .group_by(bucket, _e.source)
    )
    return {(int(r.bucket), r.source): int(r.n) for r in conn.execute(stmt)}


def conflict_series(
    conn: Connection, workspace_id: str, since_ms: int, step_ms: int
) -> dict[tuple[int, str], int]:
    """Identifier conflicts identity recorded per ``step_ms`` bucket and source of the
    claiming event, from ``since_ms``: (bucket start, source) -> count.

    A conflict is placed at its claiming event's time (when it was recorded, if that event is
    gone), as :func:`attributed_series` places events: a replay of old events then raises the
    rate of the buckets it replays, not of the hour it ran in.
    """
    c = identity_conflicts.c
    at = func.coalesce(_e.ts_ms, c.created_ms)
    bucket = (at - at % step_ms).label("bucket")
    stmt = (
        select(bucket, c.source, func.count().label("n"))
        .select_from(identity_conflicts.outerjoin(profile_events, _e.seq == c.seq))
        .where(c.workspace_id == workspace_id, at >= since_ms)
        .group_by(bucket, c.source)
    )
    return {(int(r.bucket), r.source): int(r.n) for r in conn.execute(stmt)}


def conflicts_since(conn: Connection, workspace_id: str, since_ms: int) -> int:
    """How many identifier conflicts identity recorded in the workspace whose claiming event
    is at or after ``since_ms`` (by event time, as :func:`attributed_since` counts events;
    a conflict whose event is gone counts by when it was recorded)."""
    c = identity_conflicts.c
    at = func.coalesce(_e.ts_ms, c.created_ms)
    stmt = (
        select(func.count())
        .select_from(identity_conflicts.outerjoin(profile_events, _e.seq == c.seq))
        .where(c.workspace_id == workspace_id, at >= since_ms)
    )
    return int(conn.execute(stmt).scalar_one())
