"""Decision records ("why did the system do that?") and the tamper-evident audit chain.

Every room left of compliance can write both, so they live in the store. An audit entry's hash
is SHA-256 over the previous entry's hash and the entry's canonical JSON, so editing, removing
or reordering any entry breaks every hash after it; :func:`verify_audit` says where.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, text

from crmos.core.clock import now_ms
from crmos.core.ids import new_id
from crmos.store.dialect import hold_write_lock
from crmos.store.tables_records import audit_log, decisions

GENESIS = "0" * 64
_AUDIT_LOCK = 0x63726D61  # advisory lock class for audit chains ("crma"); the key is the workspace


@dataclass(frozen=True, slots=True)
class Decision:
    """The record of one automated choice."""

    workspace_id: str
    kind: str
    rule: str
    version: str
    reason: str
    subject_profile_id: str | None = None
    score: float | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    event_ids: Sequence[str] = ()
    actions: Sequence[dict[str, Any]] = ()
    approver: str | None = None
    id: str = field(default_factory=lambda: new_id("dec_"))
    at_ms: int = field(default_factory=now_ms)


def record_decision(conn: Connection, decision: Decision) -> str:
    """Store ``decision`` in the caller's transaction; returns its id."""
    record_decisions(conn, [decision])
    return decision.id


def record_decisions(conn: Connection, many: Sequence[Decision]) -> None:
    """Store several decisions in the caller's transaction, in one multi-row insert."""
    rows = [
        {
            "id": d.id,
            "workspace_id": d.workspace_id,
            "at_ms": d.at_ms,
            "kind": d.kind,
            "subject_profile_id": d.subject_profile_id,
            "rule": d.rule,
            "version": d.version,
            "score": d.score,
            "reason": d.reason,
            "inputs": _json(d.inputs),
            "event_ids": _json(list(d.event_ids)),
            "actions": _json(list(d.actions)),
            "approver": d.approver,
        }
        for d in many
    ]
    if rows:
        conn.execute(decisions.insert(), rows)


def decisions_of(
    conn: Connection,
    workspace_id: str,
    profile_id: str | None = None,
    limit: int = 100,
    *,
    profiles: Sequence[str] | None = None,
    until_ms: int | None = None,
) -> list[Decision]:
    """Decisions of a workspace, newest first, optionally about one profile (or any of
    ``profiles``), optionally made at or before ``until_ms``."""
    stmt = select(decisions).where(decisions.c.workspace_id == workspace_id)
    if profile_id is not None:
        stmt = stmt.where(decisions.c.subject_profile_id == profile_id)
    if profiles is not None:
        stmt = stmt.where(decisions.c.subject_profile_id.in_(profiles))
    if until_ms is not None:
        stmt = stmt.where(decisions.c.at_ms <= until_ms)
    rows = conn.execute(stmt.order_by(decisions.c.at_ms.desc()).limit(limit)).all()
    return [_decision(row) for row in rows]


def get_decision(conn: Connection, workspace_id: str, decision_id: str) -> Decision | None:
    """One decision of ``workspace_id``, or None."""
    row = conn.execute(
        select(decisions).where(
            decisions.c.workspace_id == workspace_id, decisions.c.id == decision_id
        )
    ).one_or_none()
    return None if row is None else _decision(row)


def _decision(row: Any) -> Decision:
    return Decision(
        workspace_id=row.workspace_id,
        kind=row.kind,
        rule=row.rule,
        version=row.version,
        reason=row.reason,
        subject_profile_id=row.subject_profile_id,
        score=row.score,
        inputs=orjson.loads(row.inputs),
        event_ids=tuple(orjson.loads(row.event_ids)),
        actions=tuple(orjson.loads(row.actions)),
        approver=row.approver,
        id=row.id,
        at_ms=row.at_ms,
    )


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """Where the audit chain of a workspace stops being intact."""

    workspace_id: str
    position: int
    problem: str


def append_audit(
    conn: Connection,
    workspace_id: str,
    actor: str,
    action: str,
    subject: str | None,
    details: dict[str, Any],
) -> int:
    """Append an entry to ``workspace_id``'s chain (caller's transaction); returns its position.

    On PostgreSQL the workspace's chain is locked (a transaction-level advisory lock) so two
    writers cannot fork it; on SQLite the transaction takes the write lock before it reads the
    last entry (sqlite3 would take it only at the insert). Locking the last entry with
    FOR UPDATE is not enough: the second writer wakes on the row it read, which is no longer the
    last, and both take the same position (a duplicate on ``uq_audit_position``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:key, hashtext(:ws))"),
            {"key": _AUDIT_LOCK, "ws": workspace_id},
        )
    hold_write_lock(conn)
    stmt = (
        select(audit_log.c.position, audit_log.c.hash)
        .where(audit_log.c.workspace_id == workspace_id)
        .order_by(audit_log.c.position.desc())
        .limit(1)
    )
    last = conn.execute(stmt).one_or_none()
    position, prev = (last.position + 1, last.hash) if last else (1, GENESIS)
    at_ms = now_ms()
    body = _json(details)
    digest = entry_hash(prev, workspace_id, position, at_ms, actor, action, subject, body)
    conn.execute(
        audit_log.insert().values(
            workspace_id=workspace_id,
            position=position,
            at_ms=at_ms,
            actor=actor,
            action=action,
            subject=subject,
            details=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    return int(position)


def entry_hash(
    prev: str,
    workspace_id: str,
    position: int,
    at_ms: int,
    actor: str,
    action: str,
    subject: str | None,
    details: str,
) -> str:
    """The hash of one entry, chained to ``prev``."""
    material = _json([prev, workspace_id, position, at_ms, actor, action, subject, details])
    return hashlib.sha256(material.encode()).hexdigest()


def verify_audit(conn: Connection, workspace_id: str) -> Iterator[AuditBreak]:
    """Yield every place where ``workspace_id``'s chain is broken (nothing when intact)."""
    prev, expected = GENESIS, 1
    t = audit_log.c
    rows = conn.execute(
        select(t.position, t.at_ms, t.actor, t.action, t.subject, t.details, t.prev_hash, t.hash)
        .where(t.workspace_id == workspace_id)
        .order_by(t.position)
        .execution_options(yield_per=10_000)
    )
    # Unpack rows as tuples: reading Row attributes by name costs more than the hashing.
    for position, at_ms, actor, action, subject, details, prev_hash, digest in rows:
        if position != expected:
            yield AuditBreak(workspace_id, expected, f"entry {expected} is missing")
        if prev_hash != prev:
            yield AuditBreak(workspace_id, position, "does not follow the entry before it")
        fields = (workspace_id, position, at_ms, actor, action, subject, details)
        if entry_hash(prev_hash, *fields) != digest:
            yield AuditBreak(workspace_id, position, "was edited after it was written")
        prev, expected = digest, position + 1


def audit_count(conn: Connection, workspace_id: str) -> int:
    """How many entries ``workspace_id``'s audit chain holds."""
    t = audit_log.c
    return int(
        conn.execute(select(func.count()).where(t.workspace_id == workspace_id)).scalar_one()
    )


def audit_entries(conn: Connection, workspace_id: str) -> Iterator[Any]:
    """Every entry of ``workspace_id``'s chain in order, streamed (benchmarks' bare read)."""
    t = audit_log.c
    yield from conn.execute(
        select(audit_log)
        .where(t.workspace_id == workspace_id)
        .order_by(t.position)
        .execution_options(yield_per=10_000)
    )


def chain_entries(
    workspace_id: str, details: Iterator[str], actor: str, action: str, subject: str, at_ms: int
) -> Iterator[dict[str, Any]]:
    """Rows of a new chain (positions from 1, ``at_ms`` + position) whose entries hold
    ``details``: benchmarks fill a chain with :func:`write_audit_rows` far faster than
    :func:`append_audit`, which reads the chain's end for every entry."""
    prev = GENESIS
    for position, body in enumerate(details, start=1):
        at = at_ms + position
        digest = entry_hash(prev, workspace_id, position, at, actor, action, subject, body)
        yield {"workspace_id": workspace_id, "position": position, "at_ms": at} | {
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": body,
            "prev_hash": prev,
            "hash": digest,
        }
        prev = digest


def write_audit_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows made by :func:`chain_entries`."""
    if rows:
        conn.execute(insert(audit_log), list(rows))


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
