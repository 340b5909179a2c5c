"""The tiers' tables: the manifest of warm and cold Parquet files, and erasures still to reach
them. Migration 0020 mirrors this file.

A file is part of history exactly when its manifest row exists: readers read only listed files,
and a move lists its files in the same transaction that deletes their rows from hot.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, Table, Text, UniqueConstraint

from crmos.store.tables import metadata

tier_files = Table(
    "tier_files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tier", String(8), nullable=False, comment="warm|cold"),
    Column("workspace_id", String(40), nullable=False),
    Column("period", String(10), nullable=False, comment="warm: YYYY-MM-DD; cold: YYYY-MM"),
    Column("url", Text, nullable=False, comment="full location: a path or an fsspec URL"),
    Column("seq_lo", BigInteger, nullable=False),
    Column("seq_hi", BigInteger, nullable=False),
    Column("ts_lo", BigInteger, nullable=False, comment="earliest event time in the file"),
    Column("ts_hi", BigInteger, nullable=False),
    Column("received_hi", BigInteger, nullable=False, comment="latest receive time"),
    Column("rows", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("checksum", String(64), nullable=False, comment="sha256 of the rows' content"),
    Column("people", LargeBinary, nullable=True, comment="Bloom filter of its user/anon ids"),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("url", name="uq_tier_files_url"),
    Index("ix_tier_files_workspace", "workspace_id", "tier", "seq_lo"),
)

# An erasure whose warm and cold files are still to be rewritten without the person. The
# identifiers are kept as SHA-256 digests only, so this table holds no personal string;
# readers hide the matching rows at once, and the rewrite job clears the digests when done.
tier_erasures = Table(
    "tier_erasures",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("digests", Text, nullable=False, comment="JSON: sha256 hex of user/anonymous ids"),
    Column("seqs", Text, nullable=False, comment="JSON: the person's event seqs"),
    Column("requested_ms", BigInteger, nullable=False),
    Column("done_ms", BigInteger, nullable=True),
    Column("files_rewritten", BigInteger, nullable=False, default=0),
    Index("ix_tier_erasures_open", "done_ms"),
)
