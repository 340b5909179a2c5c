"""Edge expiry: edges whose validity ended leave the adjacency (so queries and audiences stop
seeing them) and, after a retention period, the store.

A rule may give its edges a validity (``valid_days``: ``co_attended`` lasts 30 days after the
pair's latest co-attendance); a person may close an edge. Either way the edge's ``valid_to_ms``
is set and its record and evidence stay. Query answers and rule joins check ``valid_to_ms``
directly; the adjacency rows, which carry no time, are removed by :func:`expire_edges`, run by
the graph consumer at the start of every batch of a workspace and by :class:`ExpirySweeper`
every ``graph.expiry_sweep_s`` in a serving process, so a quiet workspace is swept too.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, bindparam, delete, select

from crmos.core.clock import now_ms
from crmos.core.periodic import Periodic
from crmos.graph import audiences
from crmos.graph.edges import unlink
from crmos.store import WorkspaceStore
from crmos.store.eventlog import MINUTES_KEPT_MS
from crmos.store.tables_graph import (
    graph_cursors,
    graph_edges,
    graph_rule_failures,
    graph_rule_stats,
    upsert_replace,
)

_e = graph_edges.c
_c = graph_cursors.c
_DUE = select(_e.src, _e.type, _e.dst, _e.weight).where(
    _e.workspace_id == bindparam("ws"),
    _e.valid_to_ms > bindparam("since"),
    _e.valid_to_ms <= bindparam("now"),
)
_CURSOR = select(_c.value).where(_c.workspace_id == bindparam("ws"), _c.name == bindparam("name"))
DAY_MS = 86_400_000
# The consumer's batches run one after another, each judging validity at its start, so their
# own cursor misses nothing. The background sweep may run while a batch that writes an edge
# ending before the sweep's time is still uncommitted; it keeps its own cursor and looks this
# far behind it (unlinking twice is harmless: the rows are gone, or another edge holds them).
SWEEP_SLACK_MS = 60_000


def expire_edges(
    conn: Connection,
    workspace_id: str,
    now: int,
    retention_days: float = 0,
    *,
    cursor: str = "expiry",
    slack_ms: int = 0,
) -> set[str]:
    """Unlink the edges that ended since the last call (per ``cursor``); returns the live
    profiles they touched (their audiences need a new look). With ``retention_days`` > 0,
    edges that ended longer ago than that are deleted, evidence included (decisions keep
    their own inputs)."""
    mark = {"ws": workspace_id, "name": cursor}
    since = conn.execute(_CURSOR, mark).scalar_one_or_none() or 0
    if now <= since:
        return set()
    due = {"ws": workspace_id, "since": since - slack_ms, "now": now}
    rows = conn.execute(_DUE, due).all()
    # Nothing is written when nothing ended: a sweep of a quiet workspace takes no write lock
    # (the next one reads from the same cursor, an index range holding only what ended since).
    if rows:
        for r in rows:
            unlink(conn, workspace_id, r.src, r.type, r.dst, r.weight, now)
        stmt = upsert_replace(conn.engine, graph_cursors, ["workspace_id", "name"], ["value"])
        conn.execute(stmt, {"workspace_id": workspace_id, "name": cursor, "value": now})
    if retention_days > 0:
        _purge(conn, workspace_id, now - int(retention_days * DAY_MS))
    ends = {node for r in rows for node in (r.src, r.dst)}
    return {n.partition(":")[2] for n in ends if n.startswith("profile:")}


def _purge(conn: Connection, workspace_id: str, cutoff: int) -> None:
    """Delete the edges that ended at or before ``cutoff`` (if there are any)."""
    old = (_e.workspace_id == workspace_id, _e.valid_to_ms <= cutoff)
    if conn.execute(select(_e.src_key).where(*old).limit(1)).first() is not None:
        conn.execute(delete(graph_edges).where(*old))


def sweep(
    conn: Connection, workspace_id: str, retention_days: float = 0, now: int | None = None
) -> int:
    """:func:`expire_edges` at ``now`` (default: ``core.clock.now_ms``), then re-evaluate the
    audiences of the profiles touched; returns how many profiles that was."""
    at = now if now is not None else now_ms()
    roots = expire_edges(
        conn, workspace_id, at, retention_days, cursor="expiry_sweep", slack_ms=SWEEP_SLACK_MS
    )
    audiences.refresh(conn, workspace_id, dict.fromkeys(roots))
    _prune_health(conn, workspace_id, at - MINUTES_KEPT_MS)
    return len(roots)


def _prune_health(conn: Connection, workspace_id: str, before_ms: int) -> None:
    """Delete inference counters and failures older than health windows reach."""
    s, f = graph_rule_stats.c, graph_rule_failures.c
    conn.execute(
        delete(graph_rule_stats).where(s.workspace_id == workspace_id, s.bucket_ms < before_ms)
    )
    conn.execute(
        delete(graph_rule_failures).where(f.workspace_id == workspace_id, f.created_ms < before_ms)
    )


class ExpirySweeper:
    """A thread running :func:`sweep` over every workspace, every ``every_s`` seconds."""

    def __init__(self, engine: Engine, every_s: float, retention_days: float) -> None:
        self._engine = engine
        self._every = every_s
        self._retention = retention_days
        self._thread = Periodic("crmos-graph-expiry", every_s, self.run_once)

    def start(self) -> None:
        """Start sweeping in the background."""
        self._thread.start()

    def close(self) -> None:
        """Stop after the current sweep."""
        self._thread.close(timeout=30)

    def run_once(self) -> None:
        """Sweep every workspace once, each in its own transaction."""
        for ws in (w.id for w in WorkspaceStore(self._engine).list()):
            with self._engine.begin() as conn:
                sweep(conn, ws, self._retention)
