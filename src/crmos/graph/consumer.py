"""The graph consumer: the event-stream consumer that keeps the graph, scores and audiences.

Registered after identity's consumer, so every event's profile is known when it arrives. Per
batch and workspace: follow identity merges/splits, take edges that ended out of the query
index, resolve each event's profile, write structural edges and activity, run the inference
rules, then re-evaluate the audiences of the profiles touched. Edge and rule-state changes
are collected for the whole batch (``pending.EdgeBuffer``) and written together before the
audiences look at them. A rule failing on an event (bad data, a missing field) is counted,
logged and kept in ``graph_rule_failures``; the other rules and events go on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import cel
from sqlalchemy import Connection
from sqlalchemy.sql.dml import Insert

from crmos.core.clock import now_ms
from crmos.core.event import Event
from crmos.core.logsafe import get_logger
from crmos.core.settings import GraphSettings
from crmos.graph import audiences, inference, structure
from crmos.graph.context import Activation, Batch, Subject, ms
from crmos.graph.expiry import expire_edges
from crmos.graph.follow import follow_identity
from crmos.graph.pending import EdgeBuffer, run_many
from crmos.graph.rulebook import Rule
from crmos.identity import event_profiles
from crmos.ingest import Consumer
from crmos.store import record_decisions
from crmos.store.dialect import upsert_add
from crmos.store.tables_graph import graph_rule_failures, graph_rule_stats, upsert_activity

log = get_logger(__name__)  # exception messages withheld (core.logsafe)
_ACTIVITY: dict[str, Insert] = {}
KNOWN_CAP = 200_000
POSSIBLE_CAP = 10_000


class GraphConsumer(Consumer):
    """Consumer ``graph``: nodes, edges, inference, role scores and audiences from events."""

    name = "graph"

    def __init__(self, settings: GraphSettings, rules: list[Rule]) -> None:
        self._settings = settings
        self.rules = rules
        self._known: set[tuple[str, str]] = set()
        self._possible: dict[tuple[str, str, str], bool] = {}

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Apply ``events`` (log order) in the caller's transaction."""
        if len(self._known) > KNOWN_CAP:
            self._known.clear()
        groups: dict[str, list[Event]] = {}
        for event in events:
            groups.setdefault(event.workspace_id, []).append(event)
        for workspace_id, group in groups.items():
            self._handle(conn, workspace_id, group)

    def rolled_back(self) -> None:
        """The transaction did not commit: the nodes known to exist may not."""
        self._known.clear()

    def _handle(self, conn: Connection, workspace_id: str, events: list[Event]) -> None:
        now = now_ms()
        moved = follow_identity(conn, workspace_id)
        moved |= expire_edges(conn, workspace_id, now, self._settings.expired_edge_retention_days)
        subjects = _subjects(conn, [e.seq for e in events if e.seq is not None])
        edges = EdgeBuffer(conn, workspace_id, self._settings.max_evidence, now)
        b = Batch(conn, workspace_id, self._settings, subjects, self._known, edges, now)
        tally: Counter[tuple[str, str]] = Counter()
        failures: list[dict[str, Any]] = []
        activity: dict[tuple[str, str], list[int]] = {}
        touched: dict[str, int | None] = dict.fromkeys(moved)
        for event in events:
            s = subjects.get(event.seq or -1)
            if s is not None:
                touched[s.root] = event.seq
                _count(activity, s, event)
                structure.extract(b, event, s)
            self._infer(b, event, tally, failures)
        edges.flush()
        inference.save_states(b)
        record_decisions(conn, b.decisions)
        _flush(conn, workspace_id, activity, tally, failures)
        audiences.refresh(conn, workspace_id, touched)

    def _infer(
        self,
        b: Batch,
        event: Event,
        tally: Counter[tuple[str, str]],
        failures: list[dict[str, Any]],
    ) -> None:
        act = Activation(event)
        for rule in self.rules:
            tally[(rule.id, "evaluated")] += 1
            if not self._may_match(rule, event):
                continue
            try:
                if rule.when.execute(act.get(rule.full)) is not True:
                    continue
                tally[(rule.id, "matched")] += 1
                inference.run(b, rule, event, act)
            except (KeyError, ValueError, TypeError, RuntimeError) as exc:
                tally[(rule.id, "failed")] += 1
                error = f"{type(exc).__name__}: {exc}"[:1000]
                # The error text may quote the event's values: it is kept in graph_rule_failures
                # (which an erasure reaches), not in the log.
                log.warning("graph rule %s failed on event seq=%s", rule.ref, event.seq)
                failures.append({"rule": rule.id, "seq": event.seq, "error": error})

    def _may_match(self, rule: Rule, event: Event) -> bool:
        """False when the rule's condition is false on the event's type and name alone."""
        if not rule.prefilter:
            return True
        key = (rule.id, event.type, event.name or "")
        hit = self._possible.get(key)
        if hit is None:
            tiny = cel.Context({"event": {"type": event.type, "name": event.name or ""}})
            try:
                hit = rule.when.execute(tiny) is not False
            except (KeyError, ValueError, TypeError, RuntimeError):
                hit = True  # it needs more than the type and name: evaluate it in full
            if len(self._possible) > POSSIBLE_CAP:
                self._possible.clear()
            self._possible[key] = hit
        return hit


def _subjects(conn: Connection, seqs: list[int]) -> dict[int, Subject]:
    return {seq: Subject(*pair) for seq, pair in event_profiles(conn, seqs).items()}


def _count(activity: dict[tuple[str, str], list[int]], s: Subject, event: Event) -> None:
    if event.type == "track":
        name = event.name or ""
    elif event.type in ("page", "screen"):
        name = f"{event.type}:{event.name or ''}"
    else:
        return
    at, seq = ms(event), event.seq or 0
    entry = activity.setdefault((s.origin, name[:255]), [0, at, seq])
    entry[0] += 1
    if at >= entry[1]:
        entry[1], entry[2] = at, seq


def _flush(
    conn: Connection,
    workspace_id: str,
    activity: dict[tuple[str, str], list[int]],
    tally: Counter[tuple[str, str]],
    failures: list[dict[str, Any]],
) -> None:
    if activity:
        rows = [
            {"workspace_id": workspace_id, "profile_id": pid, "name": name}
            | {"count": n, "last_ms": at, "last_seq": seq}
            for (pid, name), (n, at, seq) in activity.items()
        ]
        dialect = conn.engine.dialect.name
        if dialect not in _ACTIVITY:
            _ACTIVITY[dialect] = upsert_activity(conn.engine)
        run_many(conn, _ACTIVITY[dialect], rows)
    now = now_ms()
    if tally:
        stmt = upsert_add(
            conn.engine, graph_rule_stats, ["workspace_id", "bucket_ms", "rule", "outcome"], "count"
        )
        bucket = now - now % 60_000
        rows = [
            {"workspace_id": workspace_id, "bucket_ms": bucket, "rule": r, "outcome": o, "count": n}
            for (r, o), n in sorted(tally.items())
        ]
        conn.execute(stmt, rows)
    if failures:
        rows = [f | {"workspace_id": workspace_id, "created_ms": now} for f in failures]
        conn.execute(graph_rule_failures.insert(), rows)
