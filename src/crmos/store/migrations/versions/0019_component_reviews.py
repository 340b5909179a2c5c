"""component reviews: a compliance reviewer approves or rejects each component version

- ``component_reviews``: one row per decision (approved or rejected, with its mandatory
  reason, the reviewer and the time), owned by the playbooks room. A component's status in a
  workspace is its latest row for the installed version; with none it is pending review.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "component_reviews",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("component", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_component_reviews_component",
        "component_reviews",
        ["workspace_id", "component", "version"],
    )


def downgrade() -> None:
    op.drop_index("ix_component_reviews_component", "component_reviews")
    op.drop_table("component_reviews")
