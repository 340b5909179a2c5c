"""tiers: the manifest of warm and cold Parquet files, and erasures still to reach them

- ``tier_files``: one row per Parquet file that is part of history (warm: one workspace's day
  of a move; cold: a compacted month). A move inserts its rows in the same transaction that
  deletes the events from hot.
- ``tier_erasures``: erasures whose files are still to be rewritten without the person
  (identifiers as SHA-256 digests only).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tier_files",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tier", sa.String(8), nullable=False, comment="warm|cold"),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column(
            "period", sa.String(10), nullable=False, comment="warm: YYYY-MM-DD; cold: YYYY-MM"
        ),
        sa.Column("url", sa.Text, nullable=False, comment="full location: a path or an fsspec URL"),
        sa.Column("seq_lo", sa.BigInteger, nullable=False),
        sa.Column("seq_hi", sa.BigInteger, nullable=False),
        sa.Column(
            "ts_lo", sa.BigInteger, nullable=False, comment="earliest event time in the file"
        ),
        sa.Column("ts_hi", sa.BigInteger, nullable=False),
        sa.Column("received_hi", sa.BigInteger, nullable=False, comment="latest receive time"),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False, comment="sha256 of the rows' content"),
        sa.Column(
            "people", sa.LargeBinary, nullable=True, comment="Bloom filter of its user/anon ids"
        ),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("url", name="uq_tier_files_url"),
    )
    op.create_index("ix_tier_files_workspace", "tier_files", ["workspace_id", "tier", "seq_lo"])
    op.create_table(
        "tier_erasures",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column(
            "digests",
            sa.Text,
            nullable=False,
            comment="JSON: sha256 hex of user/anonymous ids",
        ),
        sa.Column("seqs", sa.Text, nullable=False, comment="JSON: the person's event seqs"),
        sa.Column("requested_ms", sa.BigInteger, nullable=False),
        sa.Column("done_ms", sa.BigInteger, nullable=True),
        sa.Column("files_rewritten", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tier_erasures_open", "tier_erasures", ["done_ms"])


def downgrade() -> None:
    op.drop_index("ix_tier_erasures_open", table_name="tier_erasures")
    op.drop_table("tier_erasures")
    op.drop_index("ix_tier_files_workspace", table_name="tier_files")
    op.drop_table("tier_files")
