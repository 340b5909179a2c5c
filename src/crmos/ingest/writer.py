"""Writes prepared events to the event log: dedupe, encrypt, append and count in one transaction.

:class:`GroupCommitter` lets concurrent requests share a transaction (group commit): the store,
not HTTP, is the limit, and one commit per group instead of per request is what lifts it.
An event is committed before its request is answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from crmos.core.errors import StoreError
from crmos.ingest.normalise import Prepared
from crmos.store import DataKey, EventLog, Vault

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Job:
    """Events of one request (or one chunk of a file) for one workspace."""

    workspace_id: str
    events: list[Prepared] = field(default_factory=list)
    # Rejected events by (source, reason): counted, never stored.
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to a job's events."""

    accepted: int
    duplicates: int
    rejected: int = 0


class _Duplicates(Exception):
    """The fast path met messageIds stored before; the group is written again, carefully."""


class EventWriter:
    """Synchronous writer; one call is one transaction."""

    def __init__(self, log: EventLog, vault: Vault) -> None:
        self._log = log
        self._vault = vault

    def write(self, jobs: list[Job]) -> list[WriteResult]:
        """Write ``jobs`` in one transaction; all of them or none.

        Most events are new, so the fast path inserts without looking their messageIds up and
        reads the duplicates off the insert's row count. Only when that count falls short is
        the transaction rolled back and written again with the look-up, which tells which
        events (and so which sources) were the duplicates.
        """
        try:
            return self._write(jobs, careful=False)
        except _Duplicates:
            return self._write(jobs, careful=True)

    def _write(self, jobs: list[Job], careful: bool) -> list[WriteResult]:
        fresh_keys: list[tuple[str, list[DataKey]]] = []
        seen: dict[str, set[str]] = defaultdict(set)
        try:
            with self._log.engine.begin() as conn:
                results = [
                    self._write_job(conn, job, seen[job.workspace_id], fresh_keys, careful)
                    for job in jobs
                ]
        except SQLAlchemyError as exc:
            raise StoreError("event append", str(getattr(exc, "orig", None) or exc)) from exc
        for workspace_id, keys in fresh_keys:
            self._vault.remember(workspace_id, keys)
        return results

    def _write_job(
        self,
        conn: Connection,
        job: Job,
        seen: set[str],
        fresh_keys: list[tuple[str, list[DataKey]]],
        careful: bool,
    ) -> WriteResult:
        ws = job.workspace_id
        stored: set[str] = set()
        if careful:
            stored = self._log.existing_ids(conn, ws, [e.message_id for e in job.events])
        fresh, duplicates = _split(job.events, stored, seen)
        subjects = [e.subject if e.pii else None for e in fresh]
        keys, made = self._vault.keys_for(conn, ws, {s for s in subjects if s is not None})
        fresh_keys.append((ws, made))
        inserted = self._log.insert_new(conn, _rows(ws, fresh, subjects, keys))
        if inserted != len(fresh) and not careful:
            raise _Duplicates
        counts = _counts(job, fresh, duplicates)
        self._log.add_counts(conn, ((ws, s, o, r, n) for (s, o, r), n in sorted(counts.items())))
        self._log.record_sequences(conn, ws, _sequences(fresh))
        return WriteResult(len(fresh), len(duplicates), sum(job.rejected.values()))


def _split(
    events: list[Prepared], stored: set[str], seen: set[str]
) -> tuple[list[Prepared], list[Prepared]]:
    """Events not in ``stored`` nor ``seen`` (the first of repeats within), and the others."""
    ids = [e.message_id for e in events]
    unique = set(ids)
    if len(unique) == len(ids) and unique.isdisjoint(seen) and unique.isdisjoint(stored):
        seen.update(unique)
        return events, []
    fresh: list[Prepared] = []
    duplicates: list[Prepared] = []
    for event in events:
        if event.message_id in stored or event.message_id in seen:
            duplicates.append(event)
        else:
            seen.add(event.message_id)
            fresh.append(event)
    return fresh, duplicates


def _counts(
    job: Job, fresh: list[Prepared], duplicates: list[Prepared]
) -> Counter[tuple[str, str, str]]:
    """Intake counters by (source, outcome, reason)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    received = Counter(e.touchpoint for e in job.events)
    accepted = Counter(e.touchpoint for e in fresh) if duplicates else received
    for source, n in received.items():
        counts[(source, "received", "")] += n
    for source, n in accepted.items():
        counts[(source, "accepted", "")] += n
    for event in duplicates:
        counts[(event.touchpoint, "duplicate", "")] += 1
    for (source, reason), n in job.rejected.items():
        counts[(source, "received", "")] += n
        counts[(source, "rejected", reason)] += n
    return counts


# DataKey.seal's layout: a random 96-bit AES-GCM nonce, then the ciphertext and tag.
_NONCE_BYTES = 12


def _rows(
    workspace_id: str,
    events: list[Prepared],
    subjects: list[str | None],
    keys: dict[str, DataKey],
) -> list[Row]:
    """The events as values in ``ROW_COLUMNS`` order, personal fields sealed with the key of
    their subject (None: no personal fields).

    This is ``DataKey.seal`` with the nonces drawn in one ``os.urandom`` call per job: each
    call gives the GIL up, and in the server every such release can make the writer thread
    wait for its turn behind the event loop.
    """
    nonces = os.urandom(_NONCE_BYTES * len(events))
    rows: list[Row] = []
    for i, (event, subject) in enumerate(zip(events, subjects, strict=True)):
        key = keys.get(subject) if subject is not None else None
        pii = None
        if key is not None:
            nonce = nonces[i * _NONCE_BYTES : (i + 1) * _NONCE_BYTES]
            aad = f"{workspace_id}/{event.message_id}".encode()
            pii = nonce + key.cipher.encrypt(nonce, orjson.dumps(event.pii), aad)
        rows.append(
            (
                workspace_id,
                event.message_id,
                event.type,
                event.user_id,
                event.anonymous_id,
                event.name,
                event.ts_ms,
                event.received_ms,
                event.touchpoint,
                orjson.dumps(event.body).decode(),
                key.key_id if key else None,
                pii,
                None,
            )
        )
    return rows


def _sequences(events: Iterable[Prepared]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for event in events:
        if event.sequence is not None:
            out[event.touchpoint].append(event.sequence)
    return out


_STOP = object()


class GroupCommitter:
    """Queues jobs from many requests; one thread writes whatever is queued in one transaction."""

    def __init__(self, writer: EventWriter, max_events: int) -> None:
        self._writer = writer
        self._max = max_events
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="crmos-intake-writer", daemon=True)
        self._thread.start()

    async def submit(self, job: Job) -> WriteResult:
        """Write ``job``; returns once it is committed."""
        future: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()
        self._queue.put((job, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            group, stop = self._take()
            if group:
                self._commit(group)
            if stop:
                return

    def _take(self) -> tuple[list[tuple[Job, concurrent.futures.Future[WriteResult]]], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        group = [first]
        size = len(first[0].events)
        while size < self._max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            group.append(item)
            size += len(item[0].events)
        return group, False

    def _commit(self, group: list[tuple[Job, concurrent.futures.Future[WriteResult]]]) -> None:
        try:
            results = self._writer.write([job for job, _ in group])
        except Exception as exc:
            # A failure must reach the waiting requests, or they would hang; and one bad job
            # must not fail its neighbours, so a failed group is retried job by job.
            if len(group) == 1:
                group[0][1].set_exception(exc)
                return
            for item in group:
                self._commit([item])
            return
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)
