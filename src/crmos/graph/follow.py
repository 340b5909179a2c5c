"""Edges follow identity: after a merge or a split, edges re-point to the live profiles.

Identity publishes every merge and split as a fact numbered by a sequence
(:func:`crmos.identity.changes_since`). Every edge remembers the profile it was first seen on
(``src_key``/``dst_key``), so re-pointing is a recomputation: each such profile's edges move to
its root now. The facts numbered above the workspace's cursor are applied at the start of every
consumer batch and by :func:`follow_identity` (idempotent); the cursor is the last number applied.
Audiences follow too: a merged-away profile leaves them (a condition's audience evaluates its
survivor again), and a hand-picked audience holds the live profiles of the people picked.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, or_, select, update

from crmos.core.clock import now_ms
from crmos.graph.audiences import follow_picks
from crmos.graph.edges import ensure_node, link, live, unlink
from crmos.graph.model import node_id
from crmos.identity import ProfilesMerged, ProfileSplit, changes_since, tree_roots
from crmos.store.tables_graph import (
    graph_audience_members,
    graph_audiences,
    graph_cursors,
    graph_edges,
    upsert_replace,
)

CURSOR = "identity_changes"  # graph_cursors.name: the last identity change applied
PAGE = 1000
_e = graph_edges.c


def follow_identity(conn: Connection, workspace_id: str) -> set[str]:
    """Re-point edges after merges and splits since the last call; returns live roots moved."""
    mark = _cursor(conn, workspace_id)
    moved: set[str] = set()
    while changes := changes_since(conn, workspace_id, mark, PAGE):
        ids = {pid for c in changes for pid in (c.survivor_id, _other(c))}
        roots = tree_roots(conn, workspace_id, ids)
        for root in set(roots.values()):
            ensure_node(conn, workspace_id, node_id("profile", root))
        _repoint(conn, workspace_id, roots)
        _drop_stale_members(conn, workspace_id, set(roots) - set(roots.values()))
        follow_picks(conn, workspace_id, roots)
        moved |= set(roots.values())
        mark = changes[-1].seq
        stmt = upsert_replace(conn.engine, graph_cursors, ["workspace_id", "name"], ["value"])
        conn.execute(stmt, {"workspace_id": workspace_id, "name": CURSOR, "value": mark})
        if len(changes) < PAGE:
            break
    return moved


def _other(change: ProfilesMerged | ProfileSplit) -> str:
    return change.other_id if isinstance(change, ProfilesMerged) else change.restored_id


def _cursor(conn: Connection, workspace_id: str) -> int:
    c = graph_cursors.c
    value = conn.execute(
        select(c.value).where(c.workspace_id == workspace_id, c.name == CURSOR)
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def _repoint(conn: Connection, workspace_id: str, roots: dict[str, str]) -> None:
    now = {node_id("profile", pid): node_id("profile", root) for pid, root in roots.items()}
    keys = sorted(now)
    at = now_ms()
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        rows = conn.execute(
            select(graph_edges).where(
                _e.workspace_id == workspace_id,
                or_(_e.src_key.in_(part), _e.dst_key.in_(part)),
            )
        ).all()
        for r in rows:
            src, dst = now.get(r.src_key, r.src), now.get(r.dst_key, r.dst)
            if (src, dst) == (r.src, r.dst):
                continue
            conn.execute(
                update(graph_edges)
                .where(_e.workspace_id == workspace_id, _e.src_key == r.src_key)
                .where(_e.type == r.type, _e.dst_key == r.dst_key)
                .values(src=src, dst=dst)
            )
            if live(r.valid_to_ms, at):
                # After the update: the old rows stay if another live edge still holds them.
                unlink(conn, workspace_id, r.src, r.type, r.dst, r.weight)
                link(conn, workspace_id, src, r.type, dst, r.weight)


def _drop_stale_members(conn: Connection, workspace_id: str, merged: set[str]) -> None:
    """Profiles merged away leave every audience (their survivor is evaluated again)."""
    if not merged:
        return
    g, a = graph_audience_members.c, graph_audiences.c
    ours = select(a.id).where(a.workspace_id == workspace_id)
    conn.execute(
        delete(graph_audience_members).where(
            g.audience_id.in_(ours), g.profile_id.in_(sorted(merged))
        )
    )
