"""Tables of the partitioned event stream (scale-out on PostgreSQL).

The event log's ``part`` column (in ``tables.events``) says which of ``PARTITIONS`` partitions an
event belongs to: a hash of its workspace and person key, set by a trigger on PostgreSQL. Workers
lease partitions (``stream_leases``), keep one offset per consumer and partition
(``stream_part_offsets``), and identity re-keys every stitched event by profile onto
``stream_profiles``, the profile-partitioned stream the later rooms consume. An embedded
(SQLite) store keeps these tables empty: one process runs the whole log there.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table

from crmos.store.tables import SeqType, metadata

PARTITIONS = 64
"""How many partitions the log has: more workers than this add nothing."""

# One offset per consumer and partition. ``stage`` says which stream the seq counts in:
# ``events`` (identity reads the event log) or ``profiles`` (the rooms after it).
stream_part_offsets = Table(
    "stream_part_offsets",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("part", SmallInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Who holds a partition, until when. A lease row exists for every partition (the migration
# writes them); ``owner`` is empty when nobody does.
stream_leases = Table(
    "stream_leases",
    metadata,
    Column("part", SmallInteger, primary_key=True, autoincrement=False),
    Column("owner", String(120), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("claims", Integer, nullable=False, comment="how many times it changed hands"),
)

# The workers alive: each heartbeats its row; the lease balance counts the live ones.
stream_workers = Table(
    "stream_workers",
    metadata,
    Column("worker_id", String(120), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("heartbeat_ms", BigInteger, nullable=False),
)

# The repartitioned stream: every event identity handled, keyed by the live profile it joined
# (the event's own partition when it joined none). Ordered by ``seq`` within a partition.
stream_profiles = Table(
    "stream_profiles",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("part", SmallInteger, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=True),
    Index("ix_stream_profiles_part", "part", "seq"),
    sqlite_autoincrement=True,
)
