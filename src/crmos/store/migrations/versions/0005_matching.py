"""batch matching runs and their suggestions

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "identity_match_runs",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_ms", sa.BigInteger(), nullable=False),
        sa.Column("profiles", sa.Integer(), nullable=False, comment="profiles compared"),
        sa.Column(
            "pairs",
            sa.Integer(),
            nullable=False,
            comment="pairs at or above the review threshold",
        ),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("auto_threshold", sa.Float(), nullable=False),
        sa.Column("review_threshold", sa.Float(), nullable=False),
        sa.Column(
            "plan", sa.Text(), nullable=False, comment="JSON: compared traits and blocking rules"
        ),
        sa.Column("model", sa.Text(), nullable=False, comment="JSON: Splink settings with m and u"),
    )
    op.create_index(
        "ix_identity_match_runs_workspace", "identity_match_runs", ["workspace_id", "started_ms"]
    )
    op.create_table(
        "identity_match_suggestions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("left_id", _ID, nullable=False, comment="profile kept on a merge"),
        sa.Column("right_id", _ID, nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column(
            "evidence", sa.Text(), nullable=False, comment="JSON: comparison -> level and weight"
        ),
        sa.Column("outcome", sa.String(16), nullable=False, comment="merged | review | kept_apart"),
        sa.Column("merge_id", _ID, nullable=True),
        sa.Column("review_id", _ID, nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_identity_match_suggestions_run",
        "identity_match_suggestions",
        ["workspace_id", "run_id"],
    )
    op.create_index(
        "ix_identity_match_suggestions_pair",
        "identity_match_suggestions",
        ["workspace_id", "left_id", "right_id"],
    )


def downgrade() -> None:
    op.drop_table("identity_match_suggestions")
    op.drop_table("identity_match_runs")
