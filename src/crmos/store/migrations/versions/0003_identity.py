"""identity resolution (profiles, identifiers, merges, traits, conflicts)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ID = sa.String(40)


def upgrade() -> None:
    _profiles()
    _identifiers_and_events()
    _merges_and_conflicts()
    _reviews_and_workspaces()


def _profiles() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("root_id", _ID, nullable=False, comment="the live profile this resolves to"),
        sa.Column("merged_into", _ID, nullable=True, comment="parent in the merge tree"),
        sa.Column("merge_id", _ID, nullable=True, comment="the merge that absorbed it"),
        sa.Column(
            "traits", sa.Text(), nullable=False, comment="JSON {name: [value, source, ts_ms]}"
        ),
        sa.Column("marketing_suppressed", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_profiles_root", "profiles", ["root_id"])
    op.create_index("ix_profiles_workspace", "profiles", ["workspace_id", "created_ms"])


def _identifiers_and_events() -> None:
    op.create_table(
        "profile_identifiers",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column("type", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("profile_id", _ID, nullable=False, comment="the profile it first joined"),
        sa.Column(
            "source", sa.String(64), nullable=False, comment="touchpoint that first reported it"
        ),
        sa.Column("seq", sa.BigInteger(), nullable=True, comment="event that first reported it"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_profile_identifiers_profile", "profile_identifiers", ["profile_id"])
    op.create_table(
        "profile_events",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("profile_id", _ID, nullable=False, comment="the profile it first joined"),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("traits", sa.Text(), nullable=True, comment="JSON trait statement, if any"),
    )
    op.create_index("ix_profile_events_profile", "profile_events", ["profile_id"])


def _merges_and_conflicts() -> None:
    op.create_table(
        "identity_merges",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("survivor_id", _ID, nullable=False),
        sa.Column("other_id", _ID, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column(
            "evidence", sa.Text(), nullable=False, comment="JSON: linking identifiers and events"
        ),
        sa.Column(
            "actor", sa.String(200), nullable=False, comment="stream, api key id, matcher ..."
        ),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("split_ms", sa.BigInteger(), nullable=True),
        sa.Column("split_reason", sa.String(500), nullable=True),
        sa.Column("split_by", sa.String(200), nullable=True),
    )
    op.create_index(
        "ix_identity_merges_survivor", "identity_merges", ["workspace_id", "survivor_id"]
    )
    op.create_index("ix_identity_merges_other", "identity_merges", ["other_id"])
    op.create_table(
        "identity_conflicts",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, comment="limit | account"),
        sa.Column("identifier_type", sa.String(40), nullable=False),
        sa.Column("identifier_value", sa.String(255), nullable=False),
        sa.Column("owner_id", _ID, nullable=True, comment="profile holding the identifier"),
        sa.Column("owner_account", sa.String(255), nullable=True),
        sa.Column("owner_source", sa.String(64), nullable=True),
        sa.Column("claimant_id", _ID, nullable=True, comment="profile the event went to"),
        sa.Column("claimant_account", sa.String(255), nullable=True),
        sa.Column(
            "source", sa.String(64), nullable=False, comment="touchpoint of the claiming event"
        ),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_identity_conflicts_identifier",
        "identity_conflicts",
        ["workspace_id", "identifier_type", "identifier_value"],
    )
    op.create_table(
        "identity_rejections",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("value", sa.String(255), nullable=False, comment="the raw value, cut to 255"),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column(
            "path",
            sa.String(200),
            nullable=False,
            comment="where in the event, e.g. traits.phone",
        ),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_identity_rejections_workspace", "identity_rejections", ["workspace_id", "id"]
    )


def _reviews_and_workspaces() -> None:
    op.create_table(
        "identity_reviews",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, comment="conflict | match"),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="open | resolved | approved | rejected",
        ),
        sa.Column(
            "subject_profiles", sa.Text(), nullable=False, comment="JSON list of profile ids"
        ),
        sa.Column("identifier_type", sa.String(40), nullable=True),
        sa.Column("identifier_value", sa.String(255), nullable=True),
        sa.Column("score", sa.Float(), nullable=True, comment="match probability, for kind=match"),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("resolved_ms", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
    )
    op.create_index(
        "ix_identity_reviews_queue", "identity_reviews", ["workspace_id", "status", "kind"]
    )
    op.create_table(
        "identity_workspaces",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column(
            "config", sa.Text(), nullable=False, comment="JSON override of identity settings"
        ),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "identity_workspaces",
        "identity_reviews",
        "identity_rejections",
        "identity_conflicts",
        "identity_merges",
        "profile_events",
        "profile_identifiers",
        "profiles",
    ):
        op.drop_table(table)
