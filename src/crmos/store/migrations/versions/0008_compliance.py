"""compliance packs, consent, data-subject requests, calendars

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "compliance_settings",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column(
            "config",
            sa.Text(),
            nullable=False,
            comment="JSON of the workspace's compliance settings",
        ),
        sa.Column("version", sa.BigInteger(), nullable=False, comment="1, 2, 3 ... one per change"),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "pack_versions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("version", sa.String(80), nullable=False),
        sa.Column(
            "content_hash",
            sa.String(64),
            nullable=False,
            comment="sha256 of the canonical spec",
        ),
        sa.Column("spec", sa.Text(), nullable=False, comment="the pack as canonical JSON"),
        sa.Column(
            "effective_ms", sa.BigInteger(), nullable=False, comment="in force from this time"
        ),
        sa.Column("published_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "enforced_ms",
            sa.BigInteger(),
            nullable=True,
            comment="first decision that applied it",
        ),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("workspace_id", "pack", "version", name="uq_pack_versions_version"),
    )
    op.create_index(
        "ix_pack_versions_effective", "pack_versions", ["workspace_id", "pack", "effective_ms"]
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column(
            "channel", sa.String(32), nullable=False, comment="email, sms, phone, push ... or *"
        ),
        sa.Column("state", sa.String(16), nullable=False, comment="granted | withdrawn"),
        sa.Column(
            "source",
            sa.String(200),
            nullable=False,
            comment="where it was given: form, call ...",
        ),
        sa.Column(
            "at_ms",
            sa.BigInteger(),
            nullable=False,
            comment="when the person gave or withdrew it",
        ),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_consents_profile", "consents", ["workspace_id", "profile_id", "purpose", "at_ms"]
    )
    _requests_and_holds()
    _complaints_and_regions()


def _requests_and_holds() -> None:
    op.create_table(
        "dsr_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column(
            "kind",
            sa.String(16),
            nullable=False,
            comment="access|erasure|rectification|opt_out",
        ),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="received|blocked|completed|failed",
        ),
        sa.Column(
            "origin",
            sa.String(200),
            nullable=False,
            comment="api, cli, or the event that asked",
        ),
        sa.Column(
            "regions", sa.String(200), nullable=False, comment="comma-separated region codes"
        ),
        sa.Column(
            "packs", sa.Text(), nullable=False, comment="JSON: pack -> version that governs it"
        ),
        sa.Column(
            "locale", sa.String(16), nullable=False, comment="locale of the person's letters"
        ),
        sa.Column(
            "params",
            sa.Text(),
            nullable=False,
            comment="JSON: non-personal parameters (purposes of an opt-out)",
        ),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
        sa.Column("completed_ms", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True, comment="why it was blocked or failed"),
        sa.Column(
            "report",
            sa.Text(),
            nullable=True,
            comment="JSON proof-of-erasure or export summary",
        ),
        sa.Column(
            "letters",
            sa.Text(),
            nullable=True,
            comment="JSON: locale -> rendered confirmation",
        ),
    )
    op.create_index("ix_dsr_requests_status", "dsr_requests", ["workspace_id", "status", "due_ms"])
    op.create_index("ix_dsr_requests_profile", "dsr_requests", ["workspace_id", "profile_id"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(200), nullable=False),
        sa.Column("placed_ms", sa.BigInteger(), nullable=False),
        sa.Column("released_ms", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_legal_holds_profile", "legal_holds", ["workspace_id", "profile_id"])


def _complaints_and_regions() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("pack", sa.String(64), nullable=False, comment="the pack whose SLA applies"),
        sa.Column("pack_version", sa.String(80), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
        sa.Column("answered_ms", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("workspace_id", "message_id", name="uq_complaints_message"),
    )
    op.create_index("ix_complaints_due", "complaints", ["workspace_id", "due_ms"])
    op.create_table(
        "profile_regions",
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column(
            "regions",
            sa.String(200),
            nullable=False,
            comment="comma-separated, e.g. DE or US-CA",
        ),
        sa.Column("locale", sa.String(16), nullable=True, comment="the person's preferred locale"),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("workspace_id", "profile_id", name="uq_profile_regions_profile"),
    )


def downgrade() -> None:
    for table in ("profile_regions", "complaints", "legal_holds", "dsr_requests", "consents"):
        op.drop_table(table)
    op.drop_table("pack_versions")
    op.drop_table("compliance_settings")
