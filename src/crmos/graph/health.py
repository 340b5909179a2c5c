"""Graph health, the seed's dashboard: event loss, entity-match conflicts, inference failures.

- event loss rate: rejected / received in the window, from intake accounting
  (``intake_stats``, which keeps its counters per minute as well as in total).
- match conflict rate: identifier conflicts identity recorded in the window / events identity
  attributed in the window.
- inference failure rate: rule evaluations that failed / rule evaluations, in the window.

:func:`health_series` gives the same three rates over time, per bucket, overall and per source
(event loss, match conflicts) or per rule (inference failures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select

from crmos.core.clock import now_ms
from crmos.identity import attributed_series, attributed_since, conflict_series, conflicts_since
from crmos.ingest import intake_series, intake_stats
from crmos.store import EventLog
from crmos.store.tables_graph import graph_rule_failures, graph_rule_stats


def graph_health(
    conn: Connection, log: EventLog, workspace_id: str, window_s: int
) -> dict[str, Any]:
    """The three health figures of a workspace over the last ``window_s`` seconds."""
    now = now_ms()
    since = now - window_s * 1000
    sources = intake_stats(log, workspace_id, window_s)
    received = sum(s.received for s in sources)
    rejected = sum(sum(s.rejected.values()) for s in sources)
    conflicts = conflicts_since(conn, workspace_id, since)
    attributed = attributed_since(conn, workspace_id, since)
    rules = _rule_counts(conn, workspace_id, since)
    evaluated = sum(v.get("evaluated", 0) for v in rules.values())
    failed = sum(v.get("failed", 0) for v in rules.values())
    return {
        "workspace_id": workspace_id,
        "window_s": window_s,
        "since_ms": since,
        "event_loss": _rate(rejected, received) | {"rejected": rejected, "received": received},
        "match_conflicts": _rate(conflicts, attributed)
        | {"conflicts": int(conflicts), "events": int(attributed)},
        "inference_failures": _rate(failed, evaluated)
        | {"failed": failed, "evaluated": evaluated, "by_rule": rules}
        | {"recent": _recent(conn, workspace_id, since)},
    }


SERIES_POINTS = 60
"""Buckets a series is cut into by default (a step of a minute at least)."""
Counts = dict[tuple[int, str], tuple[int, int]]
"""(bucket start, source or rule) -> (part, whole)."""


def health_series(
    conn: Connection, log: EventLog, workspace_id: str, window_s: int, step_s: int | None = None
) -> dict[str, Any]:
    """The three rates over the last ``window_s`` seconds, per ``step_s`` bucket (by default
    the window in :data:`SERIES_POINTS` steps, whole minutes): for each figure, ``all`` and
    one series per source (event loss, match conflicts) or per rule (inference failures).

    A series is a list of ``[bucket start ms, rate]``, one per bucket of the window; the rate
    is null where nothing was counted (no event, no evaluation), so a chart shows a gap.
    """
    step_ms = max(60, step_s or window_s // SERIES_POINTS) // 60 * 60_000
    since = now_ms() - window_s * 1000
    since -= since % step_ms
    buckets = list(range(since, now_ms() + 1, step_ms))
    loss: Counts = {
        (p.bucket_ms, p.source): (p.rejected, p.received)
        for p in intake_series(log, workspace_id, since, step_ms)
    }
    attributed = attributed_series(conn, workspace_id, since, step_ms)
    conflicts = conflict_series(conn, workspace_id, since, step_ms)
    matching: Counts = {
        k: (conflicts.get(k, 0), attributed.get(k, 0)) for k in {*attributed, *conflicts}
    }
    return {
        "workspace_id": workspace_id,
        "window_s": window_s,
        "step_s": step_ms // 1000,
        "since_ms": since,
        "event_loss": _series(loss, buckets, "by_source"),
        "match_conflicts": _series(matching, buckets, "by_source"),
        "inference_failures": _series(
            _rule_series(conn, workspace_id, since, step_ms), buckets, "by_rule"
        ),
    }


def _rule_series(conn: Connection, workspace_id: str, since: int, step_ms: int) -> Counts:
    t = graph_rule_stats.c
    bucket = (t.bucket_ms - t.bucket_ms % step_ms).label("bucket")
    rows = conn.execute(
        select(bucket, t.rule, t.outcome, func.sum(t.count).label("n"))
        .where(t.workspace_id == workspace_id, t.bucket_ms >= since)
        .where(t.outcome.in_(("evaluated", "failed")))
        .group_by(bucket, t.rule, t.outcome)
    )
    found: dict[tuple[int, str], list[int]] = {}
    for r in rows:
        figures = found.setdefault((int(r.bucket), r.rule), [0, 0])
        figures[0 if r.outcome == "failed" else 1] += int(r.n)
    return {k: (v[0], v[1]) for k, v in found.items()}


def _series(counts: Counts, buckets: list[int], per: str) -> dict[str, Any]:
    """``all`` and one series per name, each ``[[bucket, rate or None], ...]``."""
    names = sorted({name for _, name in counts})
    total: dict[int, list[int]] = {}
    for (b, _), (part, whole) in counts.items():
        figures = total.setdefault(b, [0, 0])
        figures[0] += part
        figures[1] += whole
    return {
        "all": [[b, _point(*total.get(b, (0, 0)))] for b in buckets],
        per: {n: [[b, _point(*counts.get((b, n), (0, 0)))] for b in buckets] for n in names},
    }


def _point(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _rate(part: int, whole: int) -> dict[str, Any]:
    return {"rate": round(part / whole, 6) if whole else 0.0}


def _rule_counts(conn: Connection, workspace_id: str, since: int) -> dict[str, dict[str, int]]:
    t = graph_rule_stats.c
    out: dict[str, dict[str, int]] = {}
    for r in conn.execute(
        select(t.rule, t.outcome, func.sum(t.count).label("n"))
        .where(t.workspace_id == workspace_id, t.bucket_ms >= since - since % 60_000)
        .group_by(t.rule, t.outcome)
    ):
        out.setdefault(r.rule, {})[r.outcome] = int(r.n)
    return out


def _recent(conn: Connection, workspace_id: str, since: int) -> list[dict[str, Any]]:
    f = graph_rule_failures.c
    rows = conn.execute(
        select(f.rule, f.seq, f.error, f.created_ms)
        .where(f.workspace_id == workspace_id, f.created_ms >= since)
        .order_by(f.id.desc())
        .limit(10)
    )
    return [dict(r._mapping) for r in rows]


class GraphHealthCollector(Collector):
    """Prometheus gauges of the graph health figures of every workspace, at scrape time."""

    def __init__(
        self, engine: Engine, log: EventLog, workspaces: Callable[[], list[str]], window_s: int
    ) -> None:
        self._engine = engine
        self._log = log
        self._workspaces = workspaces
        self._window = window_s

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield ``crmos_graph_{event_loss,match_conflict,inference_failure}_rate``."""
        names = {
            "event_loss": "crmos_graph_event_loss_rate",
            "match_conflicts": "crmos_graph_match_conflict_rate",
            "inference_failures": "crmos_graph_inference_failure_rate",
        }
        families = {
            key: GaugeMetricFamily(
                name,
                f"Graph health: {key.replace('_', ' ')} rate over the window.",
                labels=["workspace", "window_s"],
            )
            for key, name in names.items()
        }
        with self._engine.connect() as conn:
            for ws in self._workspaces():
                figures = graph_health(conn, self._log, ws, self._window)
                for key, family in families.items():
                    family.add_metric([ws, str(self._window)], figures[key]["rate"])
        yield from families.values()
