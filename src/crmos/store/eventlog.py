"""The append-only event log table: dedupe look-ups, group inserts and reads.

The intake writer appends rows in groups inside one transaction; readers page by ``seq``.
Reads span the tiers: events moved to warm or cold Parquet files (``crmos.store.tiers``) are
read through DuckDB and merged in, so callers see one history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, Row, cast, delete, func, or_, select

from crmos.core.clock import now_ms
from crmos.core.settings import HEALTH_WINDOW_MAX_S
from crmos.store.dialect import insert_ignore, upsert_add
from crmos.store.partitions import EVENTS_LOCK, lock_appends
from crmos.store.tables import events, intake_buckets, intake_counts, intake_sequences
from crmos.store.tables_tiers import tier_files

BUCKET_MS = 60_000  # intake counters are also kept per minute
MINUTES_KEPT_MS = HEALTH_WINDOW_MAX_S * 1000
"""Per-minute health counters (intake's here, graph inference's in the graph room) older than
this are deleted: the longest window the health figures cover."""
_PRUNE_EVERY_MS = 3_600_000

# SQLite allows 32,766 bound parameters; stay far below it and below PostgreSQL's 65,535.
_IN_CHUNK = 900

# The values of a row for :meth:`EventLog.insert_new`, in this order (``seq`` is assigned).
ROW_COLUMNS = (
    "workspace_id",
    "message_id",
    "type",
    "user_id",
    "anonymous_id",
    "name",
    "ts_ms",
    "received_ms",
    "touchpoint",
    "body",
    "key_id",
    "pii",
    "tags",
)
# ``seq`` is assigned, ``part`` set by the store (a trigger on PostgreSQL, see tables_stream).
assert set(ROW_COLUMNS) == {c.name for c in events.columns} - {"seq", "part"}, (
    "ROW_COLUMNS is stale"
)


def erased_seqs(conn: Connection, seqs: Sequence[int]) -> set[int]:
    """Which of ``seqs`` the log handed out and holds no more: an erasure deleted them.

    A consumer that read a batch in an earlier transaction asks this once it holds its own lock,
    so it does not act on a person erased in between. Numbers are never given twice, so a number
    at or below the highest ever given that the log lacks was deleted; one above it was never
    logged (an event a test or benchmark hands a consumer directly) and is not reported.
    """
    high = _highest_given(conn)
    given = sorted({s for s in seqs if s <= high})
    held: set[int] = set()
    for start in range(0, len(given), _IN_CHUNK):
        chunk = given[start : start + _IN_CHUNK]
        held.update(conn.execute(select(events.c.seq).where(events.c.seq.in_(chunk))).scalars())
    return set(given) - held


def log_head(conn: Connection) -> int:
    """The highest sequence number the log holds now (0 when it is empty)."""
    return int(conn.execute(select(func.max(events.c.seq))).scalar() or 0)


def _highest_given(conn: Connection) -> int:
    """The highest sequence number the log ever gave out (SQLite's AUTOINCREMENT counter,
    PostgreSQL's sequence), deleted events included."""
    if conn.dialect.name == "sqlite":
        stmt = "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
    else:
        stmt = "SELECT pg_sequence_last_value(pg_get_serial_sequence('events', 'seq'))"
    return int(conn.exec_driver_sql(stmt).scalar() or 0)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A filter over one workspace's event log."""

    workspace_id: str
    user_id: str | None = None
    anonymous_id: str | None = None
    type: str | None = None
    after_seq: int = 0
    limit: int = 100
    newest_first: bool = False


class EventLog:
    """Table access for the event log and the intake accounting tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = insert_ignore(engine, events)
        self._insert_sql = _insert_new_sql(engine)
        self._ordered = engine.dialect.name == "postgresql"
        self._add_count = upsert_add(
            engine, intake_counts, ("workspace_id", "source", "outcome", "reason"), "count"
        )
        self._add_bucket = upsert_add(
            engine,
            intake_buckets,
            ("workspace_id", "bucket_ms", "source", "outcome", "reason"),
            "count",
        )
        self._pruned: dict[str, int] = {}  # workspace -> minute its old minutes were deleted

    def existing_ids(self, conn: Connection, workspace_id: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored for ``workspace_id``."""
        found: set[str] = set()
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            found.update(
                conn.execute(
                    select(events.c.message_id)
                    .where(events.c.workspace_id == workspace_id)
                    .where(events.c.message_id.in_(chunk))
                ).scalars()
            )
        return found

    def append(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert rows; a row whose messageId is already stored is ignored."""
        if rows:
            lock_appends(conn, EVENTS_LOCK)
            conn.execute(self._insert, rows)

    def insert_new(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert rows (values in ``ROW_COLUMNS`` order) unless their messageId is stored.

        Returns how many were inserted, so a caller sees duplicates without looking them up.
        The statement goes to the driver's ``executemany`` as it is: on the hot path the
        per-row parameter processing of a compiled SQLAlchemy insert costs more than SQLite's
        own work.
        """
        if not rows:
            return 0
        if self._ordered:  # rows become visible in seq order (store.partitions)
            lock_appends(conn, EVENTS_LOCK)
        return int(conn.exec_driver_sql(self._insert_sql, list(rows)).rowcount)

    def add_counts(
        self,
        conn: Connection,
        counts: Iterable[tuple[str, str, str, str, int]],
        at_ms: int | None = None,
    ) -> None:
        """Add (workspace, source, outcome, reason, n) to the intake counters: the totals and
        the minute of ``at_ms`` (default: now)."""
        given = [c for c in counts if c[4]]
        rows = [
            {"workspace_id": w, "source": s, "outcome": o, "reason": r, "count": n}
            for w, s, o, r, n in given
        ]
        if rows:
            conn.execute(self._add_count, rows)
            at = at_ms if at_ms is not None else now_ms()
            bucket = at - at % BUCKET_MS
            conn.execute(self._add_bucket, [r | {"bucket_ms": bucket} for r in rows])
            for workspace_id in {c[0] for c in given}:
                self._prune(conn, workspace_id, bucket)

    def _prune(self, conn: Connection, workspace_id: str, bucket: int) -> None:
        """Delete the workspace's minutes past ``MINUTES_KEPT_MS``, at most hourly."""
        if abs(bucket - self._pruned.get(workspace_id, 0)) < _PRUNE_EVERY_MS:
            return
        self._pruned[workspace_id] = bucket
        b = intake_buckets.c
        old = (b.workspace_id == workspace_id) & (b.bucket_ms < bucket - MINUTES_KEPT_MS)
        conn.execute(delete(intake_buckets).where(old))

    def read(self, query: EventQuery) -> list[Any]:
        """Events matching ``query`` across hot, warm and cold, oldest first unless
        ``newest_first``: rows of the ``events`` table or :class:`HistoryRow` values (the
        same attributes)."""
        stmt = select(events).where(events.c.workspace_id == query.workspace_id)
        where, params = ["TRUE"], {}
        for column in ("user_id", "anonymous_id", "type"):
            value = getattr(query, column)
            if value is not None:
                stmt = stmt.where(events.c[column] == value)
                where.append(f"{column} = ${column}")
                params[column] = value
        if query.after_seq:
            stmt = stmt.where(events.c.seq > query.after_seq)
            where.append("seq > $after")
            params["after"] = query.after_seq
        order = events.c.seq.desc() if query.newest_first else events.c.seq
        # The warm tiers' reader (DuckDB, fsspec, pyarrow: a quarter second to import) loads
        # with the first read, not with every process that imports the store.
        from crmos.store.tiers_read import files_of, merge, query_files

        with self.engine.connect() as conn:
            # Hot first, then the manifest: a move committing in between shows its rows twice
            # (merged away), never not at all.
            hot = list(conn.execute(stmt.order_by(order).limit(query.limit)).all())
            if query.newest_first and len(hot) == query.limit:
                return hot  # every warm seq is below every hot one
            f = tier_files.c
            who = [v for v in (query.user_id, query.anonymous_id) if v is not None]
            warm = query_files(
                conn,
                query.workspace_id,
                lambda c: files_of(c, query.workspace_id, f.seq_hi > query.after_seq, people=who),
                " AND ".join(where),
                params,
                newest_first=query.newest_first,
                limit=query.limit,
            )
        return merge(hot, warm, query.newest_first, query.limit)

    def headers(self, conn: Connection, workspace_id: str, seqs: Sequence[int]) -> list[Any]:
        """The clear-text columns (no body, no personal fields) of the events ``seqs`` in
        ``workspace_id``, from hot, warm or cold: ``workspace_id, seq, message_id, type, name,
        ts_ms, touchpoint, tags``. Unknown seqs are skipped."""
        e = events.c
        cols = (e.workspace_id, e.seq, e.message_id, e.type, e.name, e.ts_ms, e.touchpoint, e.tags)
        found: list[Any] = []
        for start in range(0, len(seqs), _IN_CHUNK):
            chunk = list(seqs[start : start + _IN_CHUNK])
            # By primary key alone: with the workspace in the WHERE clause SQLite prefers the
            # (workspace, user) index and scans the workspace's whole log.
            rows: list[Row[Any]] = list(conn.execute(select(*cols).where(e.seq.in_(chunk))))
            found.extend(r for r in rows if r.workspace_id == workspace_id)
        missing = sorted(set(seqs) - {r.seq for r in found})
        if missing:
            from crmos.store.tiers_read import files_of, query_files

            f = tier_files.c
            lo, hi = missing[0], missing[-1]
            found += query_files(
                conn,
                workspace_id,
                lambda c: files_of(c, workspace_id, f.seq_lo <= hi, f.seq_hi >= lo),
                "seq IN (SELECT unnest($seqs))",
                {"seqs": missing},
            )
        return found

    def read_after(
        self, conn: Connection, seq: int, limit: int, until: int | None = None
    ) -> list[Row[Any]]:
        """The next ``limit`` events of all workspaces after ``seq`` (to ``until``), in order."""
        stmt = select(events).where(events.c.seq > seq)
        if until is not None:
            stmt = stmt.where(events.c.seq <= until)
        return list(conn.execute(stmt.order_by(events.c.seq).limit(limit)).all())

    def counts(self, workspace_id: str, since_ms: int | None = None) -> list[Row[Any]]:
        """The intake counters of a workspace: the totals, or (``since_ms`` given) the sums of
        the minutes from the one holding ``since_ms`` on."""
        if since_ms is None:
            stmt = select(intake_counts).where(intake_counts.c.workspace_id == workspace_id)
        else:
            b = intake_buckets.c
            stmt = (
                select(
                    b.source,
                    b.outcome,
                    b.reason,
                    cast(func.sum(b.count), BigInteger).label("count"),
                )
                .where(
                    b.workspace_id == workspace_id, b.bucket_ms >= since_ms - since_ms % BUCKET_MS
                )
                .group_by(b.source, b.outcome, b.reason)
            )
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).all())

    def count_series(self, workspace_id: str, since_ms: int, step_ms: int) -> list[Row[Any]]:
        """The intake counters per ``step_ms`` bucket (a multiple of a minute), source and
        outcome, from the minute holding ``since_ms`` on: rows of (bucket_ms, source, outcome,
        count), the bucket being the start of its step."""
        b = intake_buckets.c
        step = max(BUCKET_MS, step_ms - step_ms % BUCKET_MS)
        bucket = (b.bucket_ms - b.bucket_ms % step).label("bucket_ms")
        stmt = (
            select(bucket, b.source, b.outcome, cast(func.sum(b.count), BigInteger).label("count"))
            .where(b.workspace_id == workspace_id, b.bucket_ms >= since_ms - since_ms % BUCKET_MS)
            .group_by(bucket, b.source, b.outcome)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).all())

    def sequences(self, workspace_id: str) -> list[Row[Any]]:
        """The per-source sequence-number ranges of a workspace."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(intake_sequences).where(intake_sequences.c.workspace_id == workspace_id)
                ).all()
            )

    def record_sequences(
        self, conn: Connection, workspace_id: str, seen: dict[str, list[int]]
    ) -> None:
        """Widen each source's sequence range by the numbers in ``seen``."""
        t = intake_sequences
        for source, numbers in seen.items():
            row = conn.execute(
                select(t).where(t.c.workspace_id == workspace_id, t.c.source == source)
            ).one_or_none()
            lo, hi, n = min(numbers), max(numbers), len(numbers)
            if row is None:
                conn.execute(
                    t.insert().values(
                        workspace_id=workspace_id, source=source, seq_min=lo, seq_max=hi, seq_seen=n
                    )
                )
            else:
                conn.execute(
                    t.update()
                    .where(t.c.workspace_id == workspace_id, t.c.source == source)
                    .values(
                        seq_min=min(lo, row.seq_min),
                        seq_max=max(hi, row.seq_max),
                        seq_seen=row.seq_seen + n,
                    )
                )


def subject_events(
    conn: Connection,
    workspace_id: str,
    user_ids: Sequence[str],
    anonymous_ids: Sequence[str],
    seqs: Sequence[int] = (),
    after_seq: int = 0,
    limit: int = 1000,
) -> list[Any]:
    """A person's events across hot, warm and cold (by user id, anonymous id, or the event
    seqs known to be theirs), in seq order after ``after_seq``: what an access export and a
    subject look-up read. Rows of the ``events`` table or :class:`HistoryRow` values."""
    if not user_ids and not anonymous_ids and not seqs:
        return []
    from crmos.store.tiers_read import files_of, in_list, merge, query_files

    e = events.c
    clauses = [e.user_id.in_(user_ids), e.anonymous_id.in_(anonymous_ids)]
    if seqs:
        clauses.append(e.seq.in_(list(seqs)[:_IN_CHUNK]))
    stmt = (
        select(events)
        .where(e.workspace_id == workspace_id, or_(*clauses), e.seq > after_seq)
        .order_by(e.seq)
        .limit(limit)
    )
    hot = list(conn.execute(stmt).all())
    users, by_user = in_list("user_id", "u", user_ids)
    anons, by_anon = in_list("anonymous_id", "a", anonymous_ids)
    # Known seqs may sit in any file; otherwise only files whose filter may hold the person.
    who = () if seqs else [*user_ids, *anonymous_ids]
    warm = query_files(
        conn,
        workspace_id,
        lambda c: files_of(c, workspace_id, tier_files.c.seq_hi > after_seq, people=who),
        f"seq > $after AND ({users} OR {anons} OR seq IN (SELECT unnest($seqs)))",
        {"after": after_seq, "seqs": list(seqs), **by_user, **by_anon},
        limit=limit,
    )
    return merge(hot, warm, False, limit)


def _insert_new_sql(engine: Engine) -> str:
    # PostgreSQL and SQLite (since 3.24) spell the ignoring insert the same way; only the
    # driver's placeholder differs (sqlite3: qmark, psycopg: format).
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(ROW_COLUMNS)
    marks = ", ".join([mark] * len(ROW_COLUMNS))
    return f"INSERT INTO {events.name} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
