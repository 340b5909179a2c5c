"""analytics: fitted CLV and propensity models per workspace, values and likelihoods per profile

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "analytics_models",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True, comment="clv, or propensity:<target>"),
        sa.Column("version", _ID, nullable=False, comment="changes with every fit"),
        sa.Column("fitted_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "params", sa.Text(), nullable=False, comment="JSON: fitted parameters and settings"
        ),
        sa.Column("metrics", sa.Text(), nullable=False, comment="JSON: fit size, held-out AUC ..."),
    )
    op.create_table(
        "analytics_values",
        sa.Column("profile_id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("scored_ms", sa.BigInteger(), nullable=False),
        sa.Column("clv_version", _ID, nullable=True),
        sa.Column("frequency", sa.Float(), nullable=True, comment="repeat purchase days (x)"),
        sa.Column(
            "recency", sa.Float(), nullable=True, comment="t_x, time units from first purchase"
        ),
        sa.Column(
            "age", sa.Float(), nullable=True, comment="T, time units from first purchase to scoring"
        ),
        sa.Column("monetary", sa.Float(), nullable=True, comment="mean repeat purchase amount"),
        sa.Column("currency", sa.String(8), nullable=True),
        sa.Column("expected_purchases", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column(
            "clv", sa.Float(), nullable=True, comment="discounted expected spend over the horizon"
        ),
        sa.Column("churn", sa.Float(), nullable=True),
        sa.Column("renewal", sa.Float(), nullable=True),
        sa.Column("purchase", sa.Float(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False, comment="JSON: per target, top features"),
    )
    op.create_index("ix_analytics_values_clv", "analytics_values", ["workspace_id", "clv"])


def downgrade() -> None:
    op.drop_index("ix_analytics_values_clv", table_name="analytics_values")
    op.drop_table("analytics_values")
    op.drop_table("analytics_models")
