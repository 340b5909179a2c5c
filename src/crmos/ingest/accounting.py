"""Loss accounting: per source, received / accepted / duplicate / rejected (by reason), and gaps
in the optional per-source sequence number ``context.sequence``.

The counters live in the store (written in the same transaction as the events), so the API, the
Prometheus collector and every process see one truth that survives restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from crmos.core.clock import now_ms
from crmos.store import EventLog


@dataclass(slots=True)
class SourceStats:
    """Intake figures of one source (touchpoint)."""

    source: str
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    sequence_gaps: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures, with the loss rate (rejected / received)."""
        rejected = sum(self.rejected.values())
        return {
            "source": self.source,
            "received": self.received,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": rejected,
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "sequence_gaps": self.sequence_gaps,
            "loss_rate": round(rejected / self.received, 6) if self.received else 0.0,
        }


def intake_stats(
    log: EventLog, workspace_id: str, window_s: int | None = None
) -> list[SourceStats]:
    """Figures per source for one workspace: since the store began, or over the last
    ``window_s`` seconds (to the minute; sequence gaps always cover the whole range)."""
    since = None if window_s is None else now_ms() - window_s * 1000
    stats: dict[str, SourceStats] = {}
    for row in log.counts(workspace_id, since):
        s = stats.setdefault(row.source, SourceStats(row.source))
        n: int = row._mapping["count"]  # `row.count` would be tuple.count
        if row.outcome == "rejected":
            s.rejected[row.reason] = s.rejected.get(row.reason, 0) + n
        else:
            setattr(s, row.outcome, getattr(s, row.outcome) + n)
    for row in log.sequences(workspace_id):
        s = stats.setdefault(row.source, SourceStats(row.source))
        s.sequence_gaps = max(0, row.seq_max - row.seq_min + 1 - row.seq_seen)
    return sorted(stats.values(), key=lambda s: s.source)


@dataclass(frozen=True, slots=True)
class IntakePoint:
    """Intake of one source in one time bucket: events received and rejected."""

    bucket_ms: int
    source: str
    received: int
    rejected: int


def intake_series(
    log: EventLog, workspace_id: str, since_ms: int, step_ms: int
) -> list[IntakePoint]:
    """Received and rejected events per ``step_ms`` bucket and source since ``since_ms`` (to
    the minute), in bucket then source order; buckets without intake are left out."""
    points: dict[tuple[int, str], list[int]] = {}
    for row in log.count_series(workspace_id, since_ms, step_ms):
        n = int(row._mapping["count"])  # `row.count` would be tuple.count
        figures = points.setdefault((int(row.bucket_ms), row.source), [0, 0])
        if row.outcome == "received":
            figures[0] += n
        elif row.outcome == "rejected":
            figures[1] += n
    return [IntakePoint(b, src, *figures) for (b, src), figures in sorted(points.items())]


class IntakeCollector(Collector):
    """Prometheus collector reading the intake counters of every workspace at scrape time."""

    def __init__(self, log: EventLog, workspaces: Callable[[], list[str]]) -> None:
        self._log = log
        self._workspaces = workspaces

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Yield ``crmos_intake_events_total`` and ``crmos_intake_sequence_gaps``."""
        events = CounterMetricFamily(
            "crmos_intake_events",
            "Events seen by intake, by workspace, source, outcome and rejection reason.",
            labels=["workspace", "source", "outcome", "reason"],
        )
        gaps = GaugeMetricFamily(
            "crmos_intake_sequence_gaps",
            "Missing numbers in the per-source context.sequence range.",
            labels=["workspace", "source"],
        )
        for ws in self._workspaces():
            for s in intake_stats(self._log, ws):
                for outcome in ("received", "accepted", "duplicate"):
                    events.add_metric([ws, s.source, outcome, ""], getattr(s, outcome))
                for reason, n in s.rejected.items():
                    events.add_metric([ws, s.source, "rejected", reason], n)
                gaps.add_metric([ws, s.source], s.sequence_gaps)
        yield events
        yield gaps
