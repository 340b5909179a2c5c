"""Read positions of event-log consumers, and the events they had to skip."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from crmos.core.clock import now_ms
from crmos.store.tables import stream_failures, stream_offsets


def get_offset(conn: Connection, consumer: str) -> int:
    """The last event-log ``seq`` that ``consumer`` has handled (0 when it never ran)."""
    seq = conn.execute(
        select(stream_offsets.c.seq).where(stream_offsets.c.consumer == consumer)
    ).scalar_one_or_none()
    return int(seq or 0)


def set_offset(conn: Connection, consumer: str, seq: int) -> None:
    """Move ``consumer``'s position to ``seq`` (in the caller's transaction)."""
    t = stream_offsets
    done = conn.execute(
        t.update().where(t.c.consumer == consumer).values(seq=seq, updated_ms=now_ms())
    ).rowcount
    if not done:
        conn.execute(t.insert().values(consumer=consumer, seq=seq, updated_ms=now_ms()))


def record_failure(
    conn: Connection, consumer: str, seq: int, workspace_id: str, error: str
) -> None:
    """Remember an event ``consumer`` skipped because handling it failed."""
    conn.execute(
        stream_failures.insert().values(
            consumer=consumer,
            seq=seq,
            workspace_id=workspace_id,
            error=error[:2000],
            failed_ms=now_ms(),
        )
    )


def failures(conn: Connection, consumer: str | None = None) -> list[Row[Any]]:
    """Skipped events, optionally of one consumer."""
    stmt = select(stream_failures).order_by(stream_failures.c.id)
    if consumer is not None:
        stmt = stmt.where(stream_failures.c.consumer == consumer)
    return list(conn.execute(stmt).all())
