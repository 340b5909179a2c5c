"""The SQL tables of crmos (SQLAlchemy Core). Alembic migrations mirror this file.

Times are integer epoch milliseconds: portable, sortable and cheap on the hot path.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL wants BIGINT.
# A table keyed by it that others refer to by number (consumer offsets, cursors, a full-text
# index, failure records) sets ``sqlite_autoincrement=True``: a plain rowid is max(rowid)+1,
# so deleting the newest rows (an erasure) would hand their numbers out again. PostgreSQL's
# BIGSERIAL sequences never give a number twice.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("scopes", String(200), nullable=False, comment="comma-separated: write,read,admin"),
    Column("source", String(64), nullable=False, comment="touchpoint of events sent with it"),
    Column("key_hash", String(64), nullable=False, unique=True, comment="sha256 hex of the key"),
    Column("prefix", String(16), nullable=False, comment="first characters, for display"),
    Column("created_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
)

# Signed-in console sessions: only a hash of the token, the key and scopes it acts with.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True, comment="sha256 hex of the session token"),
    Column("workspace_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False, comment="the API key it signed in with"),
    Column("scopes", String(200), nullable=False, comment="the key's scopes then"),
    Column("created_ms", BigInteger, nullable=False),
    Column("used_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False, comment="hard end"),
    Index("ix_console_sessions_key", "key_id"),
    Index("ix_console_sessions_expires", "expires_ms"),
)

# The hot, append-only event log. Personal fields live encrypted in `pii`.
events = Table(
    "events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("user_id", String(255), nullable=True),
    Column("anonymous_id", String(255), nullable=True),
    Column("name", String(255), nullable=True, comment="track event name or page/screen name"),
    Column("ts_ms", BigInteger, nullable=False, comment="skew-corrected event time"),
    Column("received_ms", BigInteger, nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("body", Text, nullable=False, comment="Segment message JSON without personal fields"),
    Column("key_id", String(40), nullable=True, comment="subject data key of `pii`"),
    Column("pii", LargeBinary, nullable=True, comment="AES-GCM nonce + ciphertext"),
    Column("tags", Text, nullable=True, comment="JSON: touchpoint/intent/action/outcome"),
    Column(
        "part",
        SmallInteger,
        nullable=False,
        server_default="0",
        comment="stream partition: set by a trigger on PostgreSQL (tables_stream)",
    ),
    UniqueConstraint("workspace_id", "message_id", name="uq_events_message"),
    Index("ix_events_user", "workspace_id", "user_id"),
    # Embedded (SQLite) stores keep ``part`` 0 and never read by partition: the partial index
    # stays empty there and costs intake nothing.
    Index("ix_events_part", "part", "seq", sqlite_where=text("part <> 0")),
    sqlite_autoincrement=True,
)

subject_keys = Table(
    "subject_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("wrapped", LargeBinary, nullable=True, comment="data key wrapped by the master key"),
    Column("created_ms", BigInteger, nullable=False),
    Column("destroyed_ms", BigInteger, nullable=True),
    UniqueConstraint("workspace_id", "subject", name="uq_subject_keys_subject"),
)

intake_counts = Table(
    "intake_counts",
    metadata,
    Column("workspace_id", String(40), nullable=False),
    Column("source", String(64), nullable=False),
    Column("outcome", String(16), nullable=False, comment="received|accepted|duplicate|rejected"),
    Column("reason", String(64), nullable=False, default=""),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "source", "outcome", "reason"),
)

# The same counters per minute (``bucket_ms``: start of the minute received), so health
# figures can cover a time window; ``intake_counts`` keeps the running totals.
intake_buckets = Table(
    "intake_buckets",
    metadata,
    Column("workspace_id", String(40), nullable=False),
    Column("bucket_ms", BigInteger, nullable=False),
    Column("source", String(64), nullable=False),
    Column("outcome", String(16), nullable=False, comment="received|accepted|duplicate|rejected"),
    Column("reason", String(64), nullable=False, default=""),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "bucket_ms", "source", "outcome", "reason"),
)

intake_sequences = Table(
    "intake_sequences",
    metadata,
    Column("workspace_id", String(40), nullable=False),
    Column("source", String(64), nullable=False),
    Column("seq_min", BigInteger, nullable=False),
    Column("seq_max", BigInteger, nullable=False),
    Column("seq_seen", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "source"),
)

# How far each downstream consumer (identity, graph, triggers ...) has read the event log.
stream_offsets = Table(
    "stream_offsets",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Events a consumer could not handle even on their own: skipped, never silently.
stream_failures = Table(
    "stream_failures",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("workspace_id", String(40), nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_ms", BigInteger, nullable=False),
    Index("ix_stream_failures_consumer", "consumer", "seq"),
    sqlite_autoincrement=True,
)
