"""The partitioned stream: workers lease partitions of the log and run the consumers on them.

Two stages, the repartition pattern of stream processors (``docs/architecture.md``):

1. **by person**: the first consumer (identity) reads the event log's partition ``p`` (a hash of
   workspace and user id, else anonymous id). In the same transaction, every event it handled is
   re-keyed by the live profile it joined and appended to ``stream_profiles`` under that
   profile's partition;
2. **by profile**: the later consumers (graph, triggers, agent, compliance) read
   ``stream_profiles`` partition ``q`` in order, each never ahead of the one before it in ``q``.

A worker holds a lease on partition numbers (the same number in both stages). Every batch
moves its (consumer, partition) offset by compare-and-set as the first statement of the
consumer's transaction (``store.partitions.advance_many``), so effects and offset commit together,
once, whoever held the lease when. The one-sequence runner (:class:`StreamRunner`) stays what
an embedded store runs.
"""

from __future__ import annotations

import os
import socket
import threading
import traceback
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from crmos.core.clock import now_ms
from crmos.core.event import Event
from crmos.core.logsafe import get_logger
from crmos.core.settings import StreamSettings
from crmos.ingest.reader import EventReader
from crmos.ingest.stream import Consumer, settle
from crmos.store import partitions as parts
from crmos.store import record_failure
from crmos.store.partitions import PartitionMoved, WorkerId
from crmos.store.tables_stream import PARTITIONS

log = get_logger(__name__)
_TRANSIENT = ("40001", "40P01")  # serialization failure, deadlock detected: retry the batch
_RETRIES = 8


def profile_part(workspace_id: str, profile_id: str) -> int:
    """The profile stream's partition of a live profile."""
    return zlib.crc32(f"{workspace_id}:{profile_id}".encode()) % PARTITIONS


class PartitionedRunner:
    """Runs ``consumers`` over the partitions this worker leases (see the module's docstring).

    ``lookup`` maps event seqs to (profile joined, live profile): identity's ``event_profiles``.
    """

    def __init__(
        self,
        engine: Engine,
        reader: EventReader,
        consumers: Sequence[Consumer],
        settings: StreamSettings,
        lookup: Callable[[Connection, Sequence[int]], dict[int, tuple[str, str]]],
        wake: threading.Event | None = None,
        role: str = "worker",
    ) -> None:
        self._engine = engine
        self._reader = reader
        self._first, *rest = list(consumers)
        self._later = rest
        self._settings = settings
        self._lookup = lookup
        self._wake = wake if wake is not None else threading.Event()
        worker_id = settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.me = WorkerId(worker_id, role)
        self._names = [c.name for c in consumers]
        self._started_ms = now_ms()
        self._started = False  # offset rows made (the store may be migrated after __init__)
        self._held: set[int] = set()
        self._moved = False  # partitions came or went: caches may be stale
        self._state = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._run = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The consumers' names (their offset keys), in flow order."""
        return list(self._names)

    @property
    def held(self) -> set[int]:
        """The partitions this worker holds now."""
        with self._state:
            return set(self._held)

    def notify(self) -> None:
        """New events were committed: wake the runner now instead of at the next poll."""
        self._wake.set()

    def balance(self) -> set[int]:
        """Heartbeat, renew and rebalance leases now; returns the partitions held."""
        lease_ms = int(self._settings.lease_s * 1000)
        with self._engine.begin() as conn:
            if not self._started:
                parts.ensure_offsets(conn, self._names)
                self._started = True
            parts.heartbeat(conn, self.me, self._started_ms)
            held = parts.balance(conn, self.me.id, lease_ms, lease_ms)
        with self._state:
            if held != self._held:
                self._moved = True
            self._held = held
        return held

    def run_once(self) -> int:
        """Bring the consumers of the held partitions to the end of their streams; returns how
        many events were handled. Balances first when no heartbeat thread runs."""
        with self._run:
            if not self._threads:
                self.balance()
            self._forget_if_moved()
            handled = self._guarded(self._drain_events)
            return handled + self._guarded(self._drain_profiles)

    def start(self) -> None:
        """Heartbeat and run in background threads until :meth:`close`."""
        if self._threads:
            return
        self.balance()
        for target, name in ((self._beat, "crmos-leases"), (self._loop, "crmos-partitions")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Stop after the current batch and release this worker's leases at once."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        try:
            with self._engine.begin() as conn:
                parts.forget_worker(conn, self.me.id)
        except Exception:
            log.exception("stream worker %s could not release its leases", self.me.id)

    def _beat(self) -> None:
        while not self._stop.wait(self._settings.heartbeat_s):
            try:
                self.balance()
            except Exception:
                log.exception("stream worker %s: lease heartbeat failed", self.me.id)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                handled = self.run_once()
            except Exception:
                log.exception("partitioned stream failed; retrying")
                handled = 0
            if not handled:
                self._wake.wait(0.2)  # other nodes commit: poll as a fallback

    def _forget_if_moved(self) -> None:
        with self._state:
            moved, self._moved = self._moved, False
        if moved:  # profiles of partitions that came or went may have changed elsewhere
            for consumer in (self._first, *self._later):
                settle(consumer, consumer.rolled_back)

    def _guarded(self, drain: Callable[[set[int]], int]) -> int:
        held = self.held
        if not held:
            return 0
        try:
            return drain(held)
        except PartitionMoved as exc:
            log.info("stream worker %s: %s", self.me.id, exc)
            with self._state:
                self._moved = True  # the next balance says what we hold
            return 0

    # -- stage 1: the event log by person, identity, re-keyed by profile ----------------------

    def _drain_events(self, held: set[int]) -> int:
        """Identity over the held partitions of the log, a batch across them at a time."""
        total, consumer = 0, self._first
        while not self._stop.is_set():
            per = max(20, self._settings.batch // len(held))
            with self._engine.connect() as conn:
                rows = parts.read_log(conn, consumer.name, held, per)
                events = self._reader.to_events(conn, rows)
            if not events:
                return total
            keyed: Keyed = [(int(r.part), int(r.seq), e) for r, e in zip(rows, events, strict=True)]
            reads = {int(r.part): int(r.read_seq) for r in rows}
            self._apply(consumer, reads, keyed, stage_one=True)
            total += len(events)
            held = self.held
            if not held:
                return total
        return total

    def _repartition(self, conn: Connection, keyed: Keyed) -> None:
        events = [(part, e) for part, _, e in keyed if e is not None]
        found = self._lookup(conn, [e.seq or 0 for _, e in events])
        rows: list[dict[str, Any]] = []
        for own, event in events:
            live = found.get(event.seq or 0)
            profile = live[1] if live else None
            part = profile_part(event.workspace_id, profile) if profile else own
            rows.append(
                {"part": part, "event_seq": event.seq, "workspace_id": event.workspace_id,
                 "profile_id": profile}
            )  # fmt: skip
        parts.append_profiles(conn, rows)

    # -- stage 2: the profile stream, the later consumers in order ----------------------------

    def _drain_profiles(self, held: set[int]) -> int:
        total, before = 0, None
        for consumer in self._later:
            total += self._drain_later(consumer, held, before)
            before = consumer.name  # the next never runs ahead of this one in a partition
        return total

    def _drain_later(self, consumer: Consumer, held: set[int], before: str | None) -> int:
        total = 0
        while not self._stop.is_set():
            per = max(20, self._settings.batch // len(held))
            with self._engine.connect() as conn:
                rows = parts.read_profile_stream(conn, consumer.name, held, per, before)
                if not rows:
                    return total
                by_seq = parts.events_by_seq(conn, [int(r.event_seq) for r in rows])
                events = {int(e.seq or 0): e for e in self._reader.to_events(conn, by_seq)}
            keyed = [(int(r.part), int(r.seq), events.get(int(r.event_seq))) for r in rows]
            reads = {int(r.part): int(r.read_seq) for r in rows}
            for piece in _pieces(keyed, consumer.near_head_batch):
                self._apply(consumer, reads, piece, stage_one=False)
                reads |= {part: seq for part, seq, _ in piece}
            total += len(rows)
            held = self.held
            if not held:
                return total
        return total

    # -- one transaction: offsets first (compare-and-set), then the effects --------------------

    def _apply(
        self, consumer: Consumer, reads: dict[int, int], keyed: Keyed, *, stage_one: bool
    ) -> None:
        """Handle ``keyed`` ((partition, stream seq, event; None: erased since), in order per
        partition) moving each partition's offset on from ``reads``; a failing batch is retried
        event by event, a failing event skipped."""
        moves = {part: (reads[part], seq) for part, seq, _ in keyed}  # the last seq wins
        events = [e for _, _, e in keyed if e is not None]
        for attempt in range(_RETRIES):
            try:
                with self._engine.begin() as conn:
                    parts.advance_many(conn, consumer.name, moves)
                    if events:
                        consumer.handle(conn, events)
                    if stage_one:
                        self._repartition(conn, keyed)
            except PartitionMoved:
                settle(consumer, consumer.rolled_back)
                raise
            except DBAPIError as exc:
                settle(consumer, consumer.rolled_back)
                if _sqlstate(exc) in _TRANSIENT and attempt + 1 < _RETRIES:
                    continue  # two workers met on shared rows: the same batch again
                self._split(consumer, reads, keyed, exc, stage_one)
                return
            except Exception as exc:
                settle(consumer, consumer.rolled_back)
                self._split(consumer, reads, keyed, exc, stage_one)
                return
            else:
                settle(consumer, consumer.committed)
                return

    def _split(
        self,
        consumer: Consumer,
        reads: dict[int, int],
        keyed: Keyed,
        exc: Exception,
        stage_one: bool,
    ) -> None:
        reads = dict(reads)
        if len(keyed) > 1:  # find the bad one(s); the good ones still take effect
            for item in keyed:
                self._apply(consumer, reads, [item], stage_one=stage_one)
                reads[item[0]] = item[1]
            return
        part, seq, event = keyed[0]
        log.error("consumer %s skipped event seq=%s: %s", consumer.name, seq, exc)
        error = "".join(traceback.format_exception(exc, limit=3))
        with self._engine.begin() as conn:
            parts.advance_many(conn, consumer.name, {part: (reads[part], seq)})
            if event is not None:
                record_failure(conn, consumer.name, event.seq or 0, event.workspace_id, error)
                if stage_one:  # unstitched, the later rooms still see it
                    row = {"part": part, "event_seq": event.seq,
                           "workspace_id": event.workspace_id, "profile_id": None}  # fmt: skip
                    parts.append_profiles(conn, [row])


def _sqlstate(exc: DBAPIError) -> str | None:
    orig: Any = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


Keyed = list[tuple[int, int, Event | None]]


def _pieces(keyed: Keyed, small: int | None) -> list[Keyed]:
    """``keyed`` in one batch, or near the head in batches of ``small`` (as ``_chunks``)."""
    if not small or len(keyed) > 4 * small:
        return [keyed]
    return [keyed[i : i + small] for i in range(0, len(keyed), small)]
