"""playbook versions, trigger state, timers

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "playbook_versions",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("playbook_id", sa.String(100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "playbook_activations",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("playbook_id", sa.String(100), nullable=False),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
    )
    op.create_index(
        "ix_playbook_activations_at",
        "playbook_activations",
        ["workspace_id", "playbook_id", "at_ms"],
    )
    op.create_table(
        "trigger_state",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("playbook_id", sa.String(100), primary_key=True),
        sa.Column("profile_id", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "playbook_timers",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("playbook_id", sa.String(100), primary_key=True),
        sa.Column("profile_id", sa.String(40), primary_key=True),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_playbook_timers_due", "playbook_timers", ["due_ms"])
    op.create_table(
        "playbook_firings",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("playbook_id", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=False),
        sa.Column("version_hash", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(100), nullable=True),
        sa.Column("decision_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint(
            "workspace_id", "playbook_id", "event_id", name="uq_playbook_firings_event"
        ),
    )
    op.create_index("ix_playbook_firings_status", "playbook_firings", ["status"])
    op.create_index(
        "ix_playbook_firings_profile", "playbook_firings", ["workspace_id", "profile_id"]
    )
    op.create_table(
        "component_refusals",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("component", sa.String(100), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "component_refusals",
        "playbook_firings",
        "playbook_timers",
        "trigger_state",
        "playbook_activations",
        "playbook_versions",
    ):
        op.drop_table(name)
