"""Decision records and the hash-chained audit log: the tables every room writes to."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, String, Table, Text, UniqueConstraint

from crmos.store.tables import SeqType, metadata

# One row per automated choice: a merge, an inference, a playbook run, a recommendation ...
decisions = Table(
    "decisions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False, comment="identity.merge, playbook.run, ..."),
    Column("subject_profile_id", String(40), nullable=True),
    Column("rule", String(200), nullable=False, comment="rule, playbook or model id"),
    Column("version", String(80), nullable=False, comment="its version or content hash"),
    Column("score", Float, nullable=True),
    Column("reason", Text, nullable=False, comment="plain-language why"),
    Column("inputs", Text, nullable=False, comment="JSON: what the choice was based on"),
    Column("event_ids", Text, nullable=False, comment="JSON list of messageIds that led to it"),
    Column("actions", Text, nullable=False, comment="JSON: what was done and its outcome"),
    Column("approver", String(200), nullable=True),
    Index("ix_decisions_subject", "workspace_id", "subject_profile_id", "at_ms"),
)

# Append-only; each entry's hash covers the previous entry's hash (a chain per workspace).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("position", BigInteger, nullable=False, comment="1, 2, 3 ... within the workspace"),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column(
        "subject",
        String(300),
        nullable=True,
        comment="a pseudonymous id (profile id), never raw personal data",
    ),
    Column("details", Text, nullable=False, comment="canonical JSON"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("workspace_id", "position", name="uq_audit_position"),
    sqlite_autoincrement=True,
)
