"""The partitioned stream's store side: ordered appends, offsets per partition, leases, workers.

**Ordered appends.** A reader pages a partition by ``seq`` and keeps the last one it handled.
PostgreSQL hands sequence numbers out before commit, so with several writers a transaction
holding seq 100 may commit after one holding 101: a reader that saw 101 would skip 100 for
good. Every writer of a stream therefore takes the stream's transaction-level advisory lock
right before it inserts; the lock is held to the commit and released after the commit became
visible, so rows become visible in seq order. SQLite has one writer at a time already.

**Offsets as compare-and-set.** :func:`advance_many` moves (consumer, partition) offsets only from
the values the caller read. Its row locks are the first of the consumer's transaction:
they make a second holder of the same partition (a worker whose lease ran
out while it was still working) wait, and then find the offset moved and give up. Leases
decide who *should* work on a partition; this is what makes a stale one harmless.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, or_, select, text

from crmos.core.clock import now_ms
from crmos.core.errors import CrmosError
from crmos.store.dialect import insert_ignore
from crmos.store.tables import events
from crmos.store.tables_stream import (
    PARTITIONS,
    stream_leases,
    stream_part_offsets,
    stream_profiles,
    stream_workers,
)

EVENTS_LOCK = 0x63726D6F_0001  # advisory lock keys: "crmo" + stream number
PROFILES_LOCK = 0x63726D6F_0002

_o = stream_part_offsets.c
_l = stream_leases.c
_w = stream_workers.c


class PartitionMoved(CrmosError):
    """Another worker moved this partition's offset: this one no longer holds it."""

    code = "partition_moved"


def lock_appends(conn: Connection, key: int) -> None:
    """Take the stream ``key``'s append lock to the end of the transaction (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(key)})")


def part_offsets(conn: Connection) -> dict[tuple[str, int], int]:
    """Every (consumer, partition) offset."""
    return {
        (r.consumer, int(r.part)): int(r.seq) for r in conn.execute(select(stream_part_offsets))
    }


def ensure_offsets(conn: Connection, consumers: list[str]) -> None:
    """Make every (consumer, partition) offset row (at 0) that is missing: :func:`advance`
    only ever updates one, so two workers never race to insert it."""
    rows = [
        {"consumer": c, "part": p, "seq": 0, "updated_ms": 0}
        for c in consumers
        for p in range(PARTITIONS)
    ]
    conn.execute(insert_ignore(conn.engine, stream_part_offsets), rows)


def advance_many(conn: Connection, consumer: str, moves: dict[int, tuple[int, int]]) -> None:
    """Move each partition's offset from what the caller read to its new value
    (``{part: (read, to)}``), or raise :class:`PartitionMoved` when another worker moved one
    meanwhile. The rows are locked in partition order, so two workers never wait crosswise."""
    if not moves:
        return
    wanted = sorted(moves)
    stmt = (
        select(_o.part, _o.seq)
        .where(_o.consumer == consumer, _o.part.in_(wanted))
        .order_by(_o.part)
        .with_for_update()
    )
    found = {int(p): int(s) for p, s in conn.execute(stmt)}
    stale = [p for p in wanted if found.get(p) != moves[p][0]]
    if stale:
        raise PartitionMoved(f"{consumer}: partitions {stale} moved on")
    now = now_ms()
    t = stream_part_offsets
    conn.execute(
        t.update()
        .where(_o.consumer == consumer, _o.part == bindparam("p"))
        .values(seq=bindparam("to"), updated_ms=now),
        [{"p": p, "to": moves[p][1]} for p in wanted],
    )


# Per partition, the next rows after its offset (an index range scan each), in one statement.
_READ_LOG = """
SELECT e.*, o.seq AS read_seq FROM stream_part_offsets o
CROSS JOIN LATERAL (
  SELECT * FROM events e WHERE e.part = o.part AND e.seq > o.seq ORDER BY e.seq LIMIT :per
) e
WHERE o.consumer = :consumer AND o.part IN :parts
ORDER BY e.seq
"""

_READ_PROFILES = """
SELECT s.seq, s.part, s.event_seq, o.seq AS read_seq FROM stream_part_offsets o
LEFT JOIN stream_part_offsets b ON b.consumer = :before AND b.part = o.part
CROSS JOIN LATERAL (
  SELECT * FROM stream_profiles s
  WHERE s.part = o.part AND s.seq > o.seq AND (b.seq IS NULL OR s.seq <= b.seq)
  ORDER BY s.seq LIMIT :per
) s
WHERE o.consumer = :consumer AND o.part IN :parts
ORDER BY s.seq
"""


def read_log(conn: Connection, consumer: str, held: set[int], per: int) -> list[Row[Any]]:
    """The event log's next rows (at most ``per`` a partition) after ``consumer``'s offsets in
    the ``held`` partitions, with ``read_seq``: the offset they follow. In order per partition."""
    stmt = text(_READ_LOG).bindparams(bindparam("parts", expanding=True))
    rows = conn.execute(stmt, {"consumer": consumer, "parts": sorted(held), "per": per})
    return list(rows)


def read_profile_stream(
    conn: Connection, consumer: str, held: set[int], per: int, before: str | None
) -> list[Row[Any]]:
    """The profile stream's next rows for ``consumer`` in the ``held`` partitions (``seq, part,
    event_seq, read_seq``), never past the offset of the consumer ``before`` it there."""
    stmt = text(_READ_PROFILES).bindparams(bindparam("parts", expanding=True))
    params = {"consumer": consumer, "parts": sorted(held), "per": per, "before": before or ""}
    return list(conn.execute(stmt, params))


def append_profiles(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append re-keyed events (``part``, ``event_seq``, ``workspace_id``, ``profile_id``) to the
    profile stream, in order with every other writer's (see the module's docstring)."""
    if rows:
        lock_appends(conn, PROFILES_LOCK)
        conn.execute(stream_profiles.insert(), rows)


def events_by_seq(conn: Connection, seqs: list[int]) -> list[Row[Any]]:
    """Event-log rows of ``seqs`` in the order given; erased ones are left out."""
    found = {int(r.seq): r for r in conn.execute(select(events).where(events.c.seq.in_(seqs)))}
    return [found[s] for s in seqs if s in found]


@dataclass(frozen=True, slots=True)
class WorkerId:
    """Who a worker is: a stable id, and where it runs."""

    id: str
    role: str
    host: str = socket.gethostname()
    pid: int = os.getpid()


def heartbeat(conn: Connection, me: WorkerId, started_ms: int) -> None:
    """Say that ``me`` is alive now."""
    now = now_ms()
    done = conn.execute(
        stream_workers.update().where(_w.worker_id == me.id).values(heartbeat_ms=now, pid=me.pid)
    ).rowcount
    if not done:
        conn.execute(
            stream_workers.insert().values(
                worker_id=me.id, host=me.host, pid=me.pid, role=me.role,
                started_ms=started_ms, heartbeat_ms=now,
            )
        )  # fmt: skip


def live_workers(conn: Connection, within_ms: int) -> list[str]:
    """Workers that heartbeat within the last ``within_ms``, by id."""
    stmt = select(_w.worker_id).where(_w.heartbeat_ms >= now_ms() - within_ms)
    return sorted(conn.execute(stmt.order_by(_w.worker_id)).scalars())


def forget_worker(conn: Connection, worker_id: str) -> None:
    """A worker stopping: its row goes, its leases are released at once."""
    conn.execute(stream_workers.delete().where(_w.worker_id == worker_id))
    conn.execute(stream_leases.update().where(_l.owner == worker_id).values(owner="", expires_ms=0))


def balance(conn: Connection, me: str, lease_ms: int, within_ms: int) -> set[int]:
    """Renew ``me``'s leases, take free or expired partitions up to a fair share, and give up
    those above it; returns the partitions ``me`` holds now.

    A fair share is ``ceil(PARTITIONS / live workers)``; a worker above it releases its
    highest-numbered partitions, so the others find them free at their next balance.
    """
    now = now_ms()
    live = live_workers(conn, within_ms) or [me]
    share = -(-PARTITIONS // len(live))
    conn.execute(stream_leases.update().where(_l.owner == me).values(expires_ms=now + lease_ms))
    held = sorted(conn.execute(select(_l.part).where(_l.owner == me)).scalars())
    if len(held) > share:
        give = held[share:]
        conn.execute(
            stream_leases.update()
            .where(_l.owner == me, _l.part.in_(give))
            .values(owner="", expires_ms=0)
        )
        held = held[:share]
    want = share - len(held)
    if want > 0:
        free = or_(_l.owner == "", _l.expires_ms < now)
        stmt = select(_l.part).where(free, _l.owner != me).order_by(_l.part)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for part in list(conn.execute(stmt.limit(want)).scalars()):
            conn.execute(
                stream_leases.update()
                .where(_l.part == part)
                .values(owner=me, expires_ms=now + lease_ms, claims=_l.claims + 1)
            )
            held.append(int(part))
    return {int(p) for p in held}


def leases(conn: Connection) -> list[Row[Any]]:
    """Every partition's lease: ``part, owner, expires_ms, claims``."""
    return list(conn.execute(select(stream_leases).order_by(_l.part)).all())


def workers(conn: Connection) -> list[Row[Any]]:
    """Every worker that has heartbeat, newest first."""
    return list(conn.execute(select(stream_workers).order_by(_w.heartbeat_ms.desc())).all())


def lags(conn: Connection, consumers: Sequence[str]) -> dict[str, dict[int, int]]:
    """:func:`lag` of each of ``consumers``, given in flow order: the first (identity) reads the
    event log, the others the profile stream, as the partitioned runner feeds them."""
    return {c: lag(conn, c, stage) for c, stage in _stages(consumers)}


def lag(conn: Connection, consumer: str, stage: str) -> dict[int, int]:
    """How many rows of each partition ``consumer`` has not handled yet; ``stage`` says which
    stream it reads: ``events`` (identity) or ``profiles`` (the rooms after it)."""
    table, _ = _STREAMS[stage]
    t, o = table.c, _o
    stmt = (
        select(t.part, func.count())
        .select_from(table.join(stream_part_offsets, o.part == t.part))
        .where(o.consumer == consumer, t.seq > o.seq)
        .group_by(t.part)
    )
    found = {int(p): int(n) for p, n in conn.execute(stmt)}
    return {p: found.get(p, 0) for p in range(PARTITIONS)}


def handled_bound(conn: Connection, consumers: Sequence[str]) -> int | None:
    """The highest event-log seq at and below which every consumer has handled every event, on
    the partitioned stream: one below the lowest seq any of them has not handled yet (the log's
    newest seq when none lags). ``consumers`` come in flow order as for :func:`lags`; a consumer
    with offsets but not named (another process's) counts as a reader of the profile stream.
    None when there are no consumers at all.

    Appends become visible in seq order (the module's docstring), so an event committed after
    this read has a higher seq than the bound and stays out of it."""
    recorded = set(conn.execute(select(_o.consumer).distinct()).scalars())
    named = list(consumers)
    every = [*_stages(named), *((c, "profiles") for c in sorted(recorded - set(named)))]
    if not every:
        return None
    pending = [s for c, stage in every if (s := _first_unhandled(conn, c, stage)) is not None]
    if pending:
        return min(pending) - 1
    return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())


# Which table each stage reads, and the event-log seq its rows stand for.
_STREAMS = {
    "events": (events, events.c.seq),
    "profiles": (stream_profiles, stream_profiles.c.event_seq),
}


def _stages(consumers: Sequence[str]) -> list[tuple[str, str]]:
    """``consumers`` in flow order with the stream each reads, as the partitioned runner feeds
    them: the first (identity) the event log, the others the profile stream."""
    return [(c, "events" if i == 0 else "profiles") for i, c in enumerate(consumers)]


def _first_unhandled(conn: Connection, consumer: str, stage: str) -> int | None:
    """The lowest event-log seq ``consumer`` has not handled on its stream, or None."""
    table, event_seq = _STREAMS[stage]
    t = table.c
    # Per partition, from its offset on: an index range scan of (part, seq) each.
    after = select(func.min(event_seq)).where(t.part == _o.part, t.seq > _o.seq)
    stmt = select(func.min(after.scalar_subquery())).where(_o.consumer == consumer)
    found = [conn.execute(stmt).scalar_one()]
    have = set(conn.execute(select(_o.part).where(_o.consumer == consumer)).scalars())
    if len(have) < PARTITIONS:  # a partition it never ran on: it handled none of it
        never = select(func.min(event_seq)).where(t.part.not_in(sorted(have)))
        found.append(conn.execute(never).scalar_one())
    seqs = [int(s) for s in found if s is not None]
    return min(seqs) if seqs else None
