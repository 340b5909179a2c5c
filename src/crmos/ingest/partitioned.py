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
consumer's transaction (``store.partitions.advance``), so effects and offset commit together,
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
            handled = 0
            for part in sorted(self.held):
                handled += self._guard(part, self._drain_events)
            for part in sorted(self.held):
                handled += self._guard(part, self._drain_profiles)
            return handled

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

    def _guard(self, part: int, drain: Callable[[int], int]) -> int:
        try:
            return drain(part) if part in self.held else 0
        except PartitionMoved:
            log.info("stream worker %s: partition %s moved on", self.me.id, part)
            with self._state:
                self._held.discard(part)
                self._moved = True
            return 0

    # -- stage 1: the event log by person, identity, re-keyed by profile ----------------------

    def _drain_events(self, part: int) -> int:
        total, consumer, batch = 0, self._first, self._settings.batch
        while part in self.held and not self._stop.is_set():
            with self._engine.connect() as conn:
                read = parts.part_offset(conn, consumer.name, part)
                rows = parts.read_events(conn, part, read, batch)
                events = self._reader.to_events(conn, rows)
            if not events:
                return total
            own = {int(r.seq): int(r.part) for r in rows}
            self._apply(consumer, part, read, [(e.seq or 0, e) for e in events], own)
            total += len(events)
        return total

    def _repartition(self, conn: Connection, events: Sequence[Event], own: dict[int, int]) -> None:
        seqs = [e.seq or 0 for e in events]
        found = self._lookup(conn, seqs)
        rows: list[dict[str, Any]] = []
        for event, seq in zip(events, seqs, strict=True):
            live = found.get(seq)
            profile = live[1] if live else None
            part = profile_part(event.workspace_id, profile) if profile else own.get(seq, 0)
            rows.append(
                {"part": part, "event_seq": seq, "workspace_id": event.workspace_id,
                 "profile_id": profile}
            )  # fmt: skip
        parts.append_profiles(conn, rows)

    # -- stage 2: the profile stream, the later consumers in order ----------------------------

    def _drain_profiles(self, part: int) -> int:
        total, ceiling = 0, None
        for consumer in self._later:
            total += self._drain_profile_consumer(consumer, part, ceiling)
            with self._engine.connect() as conn:
                ceiling = parts.part_offset(conn, consumer.name, part)
        return total

    def _drain_profile_consumer(self, consumer: Consumer, part: int, ceiling: int | None) -> int:
        total, batch = 0, self._settings.batch
        while part in self.held and not self._stop.is_set():
            with self._engine.connect() as conn:
                read = parts.part_offset(conn, consumer.name, part)
                rows = parts.read_profiles(conn, part, read, batch, until=ceiling)
                if not rows:
                    return total
                by_seq = parts.events_by_seq(conn, [int(r.event_seq) for r in rows])
                events = {int(e.seq or 0): e for e in self._reader.to_events(conn, by_seq)}
            keyed = [(int(r.seq), events.get(int(r.event_seq))) for r in rows]
            for chunk in _pieces(keyed, consumer.near_head_batch):
                self._apply(consumer, part, read, chunk, None)
                read = chunk[-1][0]
            total += len(rows)
        return total

    # -- one transaction: offset first (compare-and-set), then the effects ---------------------

    def _apply(
        self,
        consumer: Consumer,
        part: int,
        read: int,
        keyed: list[tuple[int, Event | None]],
        own: dict[int, int] | None,
    ) -> None:
        """Handle ``keyed`` (stream seq, event; None: erased since) moving the offset from
        ``read``; a failing batch is retried event by event, a failing event skipped."""
        events = [e for _, e in keyed if e is not None]
        for attempt in range(_RETRIES):
            try:
                with self._engine.begin() as conn:
                    parts.advance(conn, consumer.name, part, read, keyed[-1][0])
                    if events:
                        consumer.handle(conn, events)
                    if own is not None:
                        self._repartition(conn, events, own)
            except PartitionMoved:
                settle(consumer, consumer.rolled_back)
                raise
            except DBAPIError as exc:
                settle(consumer, consumer.rolled_back)
                if _sqlstate(exc) in _TRANSIENT and attempt + 1 < _RETRIES:
                    continue  # two workers met on shared rows: the same batch again
                self._split(consumer, part, read, keyed, own, exc)
                return
            except Exception as exc:
                settle(consumer, consumer.rolled_back)
                self._split(consumer, part, read, keyed, own, exc)
                return
            else:
                settle(consumer, consumer.committed)
                return

    def _split(
        self,
        consumer: Consumer,
        part: int,
        read: int,
        keyed: list[tuple[int, Event | None]],
        own: dict[int, int] | None,
        exc: Exception,
    ) -> None:
        if len(keyed) > 1:  # find the bad one(s); the good ones still take effect
            for item in keyed:
                self._apply(consumer, part, read, [item], own)
                read = item[0]
            return
        seq, event = keyed[0]
        log.error("consumer %s skipped event seq=%s: %s", consumer.name, seq, exc)
        error = "".join(traceback.format_exception(exc, limit=3))
        with self._engine.begin() as conn:
            parts.advance(conn, consumer.name, part, read, seq)
            if event is not None:
                record_failure(conn, consumer.name, event.seq or 0, event.workspace_id, error)
                if own is not None:  # unstitched, the later rooms still see it
                    self._repartition_unstitched(conn, event, own)

    def _repartition_unstitched(self, conn: Connection, event: Event, own: dict[int, int]) -> None:
        seq = event.seq or 0
        row = {"part": own.get(seq, 0), "event_seq": seq, "workspace_id": event.workspace_id,
               "profile_id": None}  # fmt: skip
        parts.append_profiles(conn, [row])


def _sqlstate(exc: DBAPIError) -> str | None:
    orig: Any = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


Keyed = list[tuple[int, Event | None]]


def _pieces(keyed: Keyed, small: int | None) -> list[Keyed]:
    """``keyed`` in one batch, or near the head in batches of ``small`` (as ``_chunks``)."""
    if not small or len(keyed) > 4 * small:
        return [keyed]
    return [keyed[i : i + small] for i in range(0, len(keyed), small)]
