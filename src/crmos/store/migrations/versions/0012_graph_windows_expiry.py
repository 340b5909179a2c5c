"""graph health windows and edge expiry: per-minute intake counters, an index on edge ends

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_buckets",
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("bucket_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column(
            "outcome",
            sa.String(16),
            nullable=False,
            comment="received|accepted|duplicate|rejected",
        ),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "bucket_ms", "source", "outcome", "reason"),
    )
    op.create_index("ix_graph_edges_valid_to", "graph_edges", ["workspace_id", "valid_to_ms"])


def downgrade() -> None:
    op.drop_index("ix_graph_edges_valid_to", table_name="graph_edges")
    op.drop_table("intake_buckets")
