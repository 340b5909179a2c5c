"""saga runs and step timeline

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saga_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "status",
            sa.String(24),
            nullable=False,
            comment="queued|running|...|needs_attention",
        ),
        sa.Column("plan", sa.Text(), nullable=False, comment="JSON: the validated steps and input"),
        sa.Column("reason", sa.Text(), nullable=True, comment="why it failed or needs attention"),
        sa.Column("failed_step", sa.String(100), nullable=True),
        sa.Column(
            "trace_id", sa.String(32), nullable=False, comment="OpenTelemetry trace id (hex)"
        ),
        sa.Column(
            "parent_span_id",
            sa.String(16),
            nullable=False,
            comment="span the run hangs under",
        ),
        sa.Column("retry_of", sa.String(40), nullable=True, comment="the run this one retries"),
        sa.Column("cancel_requested_ms", sa.BigInteger(), nullable=True),
        sa.Column("executor_id", sa.String(100), nullable=True, comment="worker that last ran it"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_saga_runs_workspace", "saga_runs", ["workspace_id", "created_ms"])
    op.create_index("ix_saga_runs_status", "saga_runs", ["workspace_id", "status"])
    op.create_table(
        "saga_steps",
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("step_id", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column(
            "status", sa.String(24), nullable=False, comment="pending|running|done|failed|..."
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True, comment="JSON returned by the action"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "compensation",
            sa.String(24),
            nullable=True,
            comment="compensated|failed|none",
        ),
        sa.Column(
            "outcome",
            sa.String(32),
            nullable=True,
            comment="awaited outcome: delivered|timeout..",
        ),
        sa.Column("outcome_detail", sa.Text(), nullable=True, comment="JSON sent with the outcome"),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "step_id"),
    )
    op.create_table(
        "saga_timeline",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("step_id", sa.String(100), nullable=False),
        sa.Column(
            "phase",
            sa.String(16),
            nullable=False,
            comment="execute|compensate|outcome|decision",
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.String(24),
            nullable=False,
            comment="ok|transient|permanent|timeout|...",
        ),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "detail",
            sa.Text(),
            nullable=True,
            comment="JSON: result, outcome or decision inputs",
        ),
        sa.Column(
            "span_id", sa.String(16), nullable=True, comment="OpenTelemetry span of the attempt"
        ),
        sa.UniqueConstraint(
            "run_id", "step_id", "phase", "attempt", name="uq_saga_timeline_attempt"
        ),
    )


def downgrade() -> None:
    op.drop_table("saga_timeline")
    op.drop_table("saga_steps")
    op.drop_table("saga_runs")
