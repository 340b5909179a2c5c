"""Hot, warm and cold tiers of the event log: moving events out of hot SQL into Parquet files.

A **move** takes the oldest hot events that every stream consumer has handled and that were
received more than ``hot_hours`` ago (a prefix of the log in ``seq`` order), writes them as
one zstd Parquet file per workspace and day of receipt, reads each file back and checks its
row count and content checksum, and only then, in one transaction, lists the files in the
manifest (``tier_files``) and deletes the rows from hot. A process killed at any moment leaves
either the rows in hot and at most an unlisted file (ignored by readers, overwritten by the
retry or deleted by the orphan sweep), or the listed file and no rows: nothing is lost and
nothing is read twice.

**Compaction** merges warm files of days older than ``warm_days`` into one cold archive per
workspace and month, by the same protocol (write, verify, swap the manifest rows in one
transaction, then delete the inputs). Cold archives older than ``cold_days`` are deleted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, delete, func, select

from crmos.core.clock import now_ms
from crmos.core.ids import new_id
from crmos.core.logsafe import get_logger
from crmos.core.settings import TiersSettings
from crmos.store.dialect import begin_write
from crmos.store.partitions import handled_bound
from crmos.store.tables import events, stream_offsets
from crmos.store.tables_tiers import tier_erasures, tier_files
from crmos.store.tiers_bloom import people_filter
from crmos.store.tiers_erase import rewrite_pending
from crmos.store.tiers_files import COLUMNS, TierFiles, Written, table_of

log = get_logger(__name__)
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
_ARCHIVE_ROWS_PER_BATCH = 5  # a cold archive holds at most this many move batches of rows


class _Changed(Exception):
    """What a step read changed before its commit: roll back and retry later."""


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """How long each tier keeps events, and how much one step handles."""

    hot_ms: int = 72 * HOUR_MS
    warm_ms: int = 30 * DAY_MS
    cold: bool = True
    cold_ms: int = 0  # 0: cold archives are kept
    batch: int = 200_000
    orphan_grace_s: float = 3600

    @classmethod
    def of(cls, settings: TiersSettings) -> TierPolicy:
        """The policy the settings describe."""
        return cls(
            hot_ms=int(settings.hot_hours * HOUR_MS),
            warm_ms=int(settings.warm_days * DAY_MS),
            cold=settings.cold,
            cold_ms=int(settings.cold_days * DAY_MS),
            batch=settings.batch_events,
            orphan_grace_s=settings.orphan_grace_s,
        )


@dataclass(slots=True)
class TierReport:
    """What one round of tier work did."""

    moved: int = 0
    files_written: int = 0
    compacted_files: int = 0
    expired_files: int = 0
    rewritten_files: int = 0
    orphans_deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-ready figures."""
        return {name: getattr(self, name) for name in self.__slots__}


def day_of(ms: int) -> str:
    """The UTC day (``YYYY-MM-DD``) holding epoch milliseconds ``ms``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def consumed_bound(
    conn: Connection, consumers: Sequence[str], partitioned: bool = False
) -> int | None:
    """The highest seq at and below which every stream consumer has handled every event, on
    the stream kind running; None when there are no consumers.

    One sequence: the lowest offset among the named consumers (0 for one that never ran) and
    every offset recorded. Partitioned: offsets are per (consumer, partition) and count in two
    streams, so :func:`~crmos.store.partitions.handled_bound` finds the lowest event seq any
    consumer has not handled yet."""
    if partitioned:
        return handled_bound(conn, consumers)
    recorded = dict(conn.execute(select(stream_offsets.c.consumer, stream_offsets.c.seq)).all())
    offsets = [int(recorded.get(name, 0)) for name in consumers]
    offsets += [int(seq) for name, seq in recorded.items() if name not in consumers]
    return min(offsets) if offsets else None


class Tiers:
    """Moves, compacts, expires and rewrites the tiers' files of one store."""

    def __init__(
        self,
        engine: Engine,
        files: TierFiles,
        policy: TierPolicy,
        consumers: Sequence[str] = (),
        clock: Callable[[], int] = now_ms,
        *,
        partitioned: bool = False,
    ) -> None:
        self.engine = engine
        self.files = files
        self.policy = policy
        self.consumers = tuple(consumers)  # in flow order: the partitioned bound needs it
        self.clock = clock
        self.partitioned = partitioned  # which stream's offsets bound a move

    # -- the round a serving process runs ---------------------------------------------------

    def run_once(self) -> TierReport:
        """Move everything due, compact and expire, finish pending erasures, sweep orphans."""
        report = TierReport()
        while (moved := self.move_once(report)) > 0:
            report.moved += moved
        self.compact(report)
        self.expire(report)
        report.rewritten_files += rewrite_pending(self.engine, self.clock)
        report.orphans_deleted += self.sweep()
        return report

    # -- hot -> warm ------------------------------------------------------------------------

    def move_once(self, report: TierReport | None = None) -> int:
        """Move one batch of due events from hot to warm; returns how many moved (0: none due,
        or the batch changed under the move and is retried next time)."""
        rows = self._due_rows()
        if not rows:
            return 0
        groups: dict[tuple[str, str], list[Sequence[Any]]] = {}
        for row in rows:
            groups.setdefault((row[1], day_of(row[8])), []).append(row)
        written = [self._write_group(ws, day, group) for (ws, day), group in groups.items()]
        lo, hi = rows[0][0], rows[-1][0]
        try:
            with self.engine.begin() as conn:
                begin_write(conn)
                gone = conn.execute(delete(events).where(events.c.seq.between(lo, hi))).rowcount
                if gone != len(rows):
                    raise _Changed
                conn.execute(tier_files.insert(), [meta for _, meta in written])
        except _Changed:
            # An erasure deleted some of these rows, or a late commit added one, since they
            # were read: the transaction rolled back; drop the files and read again next time.
            self.files.delete(w.url for w, _ in written)
            log.info("tier move of seq %d..%d retried: hot changed under it", lo, hi)
            return 0
        if report is not None:
            report.files_written += len(written)
        return len(rows)

    def _due_rows(self) -> list[Sequence[Any]]:
        now = self.clock()
        with self.engine.connect() as conn:
            bound = consumed_bound(conn, self.consumers, self.partitioned)
            cols = [events.c[name] for name in COLUMNS]
            stmt = select(*cols).order_by(events.c.seq).limit(self.policy.batch)
            if bound is not None:
                stmt = stmt.where(events.c.seq <= bound)
            rows = conn.execute(stmt).all()
        cutoff = now - self.policy.hot_ms
        # A prefix in seq order only: every warm seq stays below every hot one.
        return [tuple(r) for r in itertools.takewhile(lambda r: r[8] < cutoff, rows)]

    def _write_group(
        self, workspace_id: str, day: str, rows: list[Sequence[Any]]
    ) -> tuple[Written, dict[str, Any]]:
        lo, hi = rows[0][0], rows[-1][0]
        relative = f"warm/workspace={workspace_id}/day={day}/events-{lo:012d}-{hi:012d}.parquet"
        table = table_of(rows)
        done = self.files.write(relative, table)
        return done, self._meta("warm", workspace_id, day, done, table)

    def _meta(
        self, tier: str, workspace_id: str, period: str, done: Written, table: pa.Table
    ) -> dict[str, Any]:
        seq, ts, received = (table.column(c) for c in ("seq", "ts_ms", "received_ms"))
        return {
            "id": new_id("tf_"),
            "tier": tier,
            "workspace_id": workspace_id,
            "period": period,
            "url": done.url,
            "seq_lo": pc.min(seq).as_py(),
            "seq_hi": pc.max(seq).as_py(),
            "ts_lo": pc.min(ts).as_py(),
            "ts_hi": pc.max(ts).as_py(),
            "received_hi": pc.max(received).as_py(),
            "rows": done.rows,
            "bytes": done.bytes,
            "checksum": done.checksum,
            "people": people_filter(table),
            "created_ms": self.clock(),
        }

    # -- warm -> cold, and expiry -----------------------------------------------------------

    def compact(self, report: TierReport | None = None) -> int:
        """Merge warm files past ``warm_ms`` into cold archives (one per workspace and month,
        at most a few batches of rows each); returns how many warm files went."""
        if not self.policy.cold:
            return 0
        cutoff = day_of(self.clock() - self.policy.warm_ms)
        f = tier_files.c
        with self.engine.connect() as conn:
            due = conn.execute(
                select(tier_files)
                .where(f.tier == "warm", f.period < cutoff)
                .order_by(f.workspace_id, f.seq_lo)
            ).all()
        done = 0
        for inputs in self._archive_groups(due):
            done += self._compact_group(inputs)
        if report is not None:
            report.compacted_files += done
        return done

    def _archive_groups(self, due: Sequence[Any]) -> list[list[Any]]:
        limit = self.policy.batch * _ARCHIVE_ROWS_PER_BATCH
        groups: list[list[Any]] = []
        for _, rows in itertools.groupby(due, key=lambda r: (r.workspace_id, r.period[:7])):
            current: list[Any] = []
            for row in rows:
                if current and sum(r.rows for r in current) + row.rows > limit:
                    groups.append(current)
                    current = []
                current.append(row)
            groups.append(current)
        return groups

    def _compact_group(self, inputs: list[Any]) -> int:
        tables = [self.files.read(r.url) for r in inputs]
        table = pa.concat_tables(tables).sort_by("seq")
        first = inputs[0]
        month = first.period[:7]
        lo, hi = table.column("seq")[0].as_py(), table.column("seq")[-1].as_py()
        relative = (
            f"cold/workspace={first.workspace_id}/month={month}/"
            f"archive-{lo:012d}-{hi:012d}-{len(inputs)}.parquet"
        )
        done = self.files.write(relative, table)
        ids = [r.id for r in inputs]
        try:
            with self.engine.begin() as conn:
                begin_write(conn)
                gone = conn.execute(delete(tier_files).where(tier_files.c.id.in_(ids))).rowcount
                if gone != len(ids):  # an erasure rewrote an input meanwhile: try again later
                    raise _Changed
                meta = self._meta("cold", first.workspace_id, month, done, table)
                conn.execute(tier_files.insert(), [meta])
        except _Changed:
            self.files.delete([done.url])
            return 0
        self.files.delete(r.url for r in inputs)
        return len(inputs)

    def expire(self, report: TierReport | None = None) -> int:
        """Delete what is past every tier's retention: warm files past ``warm_ms`` when cold is
        off, cold archives past ``cold_ms`` when that is set. Returns files deleted."""
        f = tier_files.c
        now = self.clock()
        gone: list[Any] = []
        with self.engine.begin() as conn:
            begin_write(conn)
            if not self.policy.cold:
                old = (f.tier == "warm") & (f.period < day_of(now - self.policy.warm_ms))
                gone += conn.execute(select(f.id, f.url).where(old)).all()
            if self.policy.cold and self.policy.cold_ms:
                old = (f.tier == "cold") & (f.received_hi < now - self.policy.cold_ms)
                gone += conn.execute(select(f.id, f.url).where(old)).all()
            if gone:
                conn.execute(delete(tier_files).where(f.id.in_([g.id for g in gone])))
        self.files.delete(g.url for g in gone)
        if report is not None:
            report.expired_files += len(gone)
        return len(gone)

    def sweep(self) -> int:
        """Delete files the manifest does not list (a step killed before its commit) once they
        are older than ``orphan_grace_s``, so a step still running elsewhere keeps its file."""
        found = self.files.listing()
        if not found:
            return 0
        with self.engine.connect() as conn:
            listed = set(conn.execute(select(tier_files.c.url)).scalars())
        limit = self.clock() / 1000 - self.policy.orphan_grace_s
        orphans = [u for u, mtime in found.items() if u not in listed and mtime <= limit]
        self.files.delete(orphans)
        return len(orphans)

    # -- what is where ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Events, files and bytes per tier, the consumers' bound and pending erasures."""
        f = tier_files.c
        with self.engine.connect() as conn:
            hot = conn.execute(
                select(func.count(), func.min(events.c.received_ms), func.max(events.c.seq))
            ).one()
            per_tier = conn.execute(
                select(f.tier, func.count(), func.sum(f.rows), func.sum(f.bytes)).group_by(f.tier)
            ).all()
            pending = conn.execute(
                select(func.count()).where(tier_erasures.c.done_ms.is_(None))
            ).scalar_one()
            bound = consumed_bound(conn, self.consumers, self.partitioned)
        tiers: dict[str, Any] = {
            "hot": {"events": int(hot[0]), "oldest_received_ms": hot[1], "newest_seq": hot[2]}
        }
        for tier in ("warm", "cold"):
            tiers[tier] = {"files": 0, "events": 0, "bytes": 0}
        for tier, files, rows, size in per_tier:
            tiers[tier] = {"files": int(files), "events": int(rows or 0), "bytes": int(size or 0)}
        return {
            "tiers": tiers,
            "root": self.files.url(""),
            "consumed_up_to_seq": bound,
            "pending_erasures": int(pending),
            "policy": {
                "hot_hours": self.policy.hot_ms / HOUR_MS,
                "warm_days": self.policy.warm_ms / DAY_MS,
                "cold": self.policy.cold,
                "cold_days": self.policy.cold_ms / DAY_MS,
            },
        }


def tiers_of(
    engine: Engine,
    settings: TiersSettings,
    home_dir: str,
    consumers: Sequence[str] = (),
    *,
    partitioned: bool = False,
) -> Tiers:
    """The tiers the settings describe (files under ``settings.url`` or ``home_dir/tiers``),
    bounded by the offsets of ``consumers`` (in flow order) on the stream kind running."""
    root = settings.url or f"{home_dir}/tiers"
    policy = TierPolicy.of(settings)
    return Tiers(engine, TierFiles(root), policy, consumers, partitioned=partitioned)
