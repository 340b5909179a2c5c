"""decision records and the hash-chained audit log

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind", sa.String(64), nullable=False, comment="identity.merge, playbook.run, ..."
        ),
        sa.Column("subject_profile_id", sa.String(40), nullable=True),
        sa.Column("rule", sa.String(200), nullable=False, comment="rule, playbook or model id"),
        sa.Column("version", sa.String(80), nullable=False, comment="its version or content hash"),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, comment="plain-language why"),
        sa.Column(
            "inputs", sa.Text(), nullable=False, comment="JSON: what the choice was based on"
        ),
        sa.Column(
            "event_ids", sa.Text(), nullable=False, comment="JSON list of messageIds that led to it"
        ),
        sa.Column(
            "actions", sa.Text(), nullable=False, comment="JSON: what was done and its outcome"
        ),
        sa.Column("approver", sa.String(200), nullable=True),
    )
    op.create_index(
        "ix_decisions_subject", "decisions", ["workspace_id", "subject_profile_id", "at_ms"]
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column(
            "position", sa.BigInteger(), nullable=False, comment="1, 2, 3 ... within the workspace"
        ),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column(
            "subject",
            sa.String(300),
            nullable=True,
            comment="a pseudonymous id (profile id), never raw personal data",
        ),
        sa.Column("details", sa.Text(), nullable=False, comment="canonical JSON"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("workspace_id", "position", name="uq_audit_position"),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_index("ix_decisions_subject", table_name="decisions")
    op.drop_table("decisions")
