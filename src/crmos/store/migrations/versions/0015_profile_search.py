"""profile search: a keyed blind index of profiles, a row per live profile, a pending queue

The index needs the workspace's search key, which migrations do not hold: the backfill marks
every live profile as pending, and the first search (or ``crmos profiles reindex``) indexes it.

Revision ID: 0015
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "profile_search_tokens",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column("token", sa.LargeBinary(16), primary_key=True, comment="HMAC of a token, keyed"),
        sa.Column("profile_id", _ID, primary_key=True, comment="the live profile"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_profile_search_tokens_profile", "profile_search_tokens", ["profile_id"])
    op.create_table(
        "profile_search_rows",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("profile_id", _ID, primary_key=True, comment="the live profile"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "last_seen_ms", sa.BigInteger(), nullable=False, comment="newest event of the tree"
        ),
        sa.Column("events", sa.BigInteger(), nullable=False, comment="events of the tree"),
    )
    op.create_index(
        "ix_profile_search_rows_seen",
        "profile_search_rows",
        ["workspace_id", "last_seen_ms", "profile_id"],
    )
    op.create_index(
        "ix_profile_search_rows_created",
        "profile_search_rows",
        ["workspace_id", "created_ms", "profile_id"],
    )
    op.create_table(
        "profile_search_pending",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column("profile_id", _ID, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO profile_search_pending (workspace_id, profile_id)"
        " SELECT workspace_id, id FROM profiles WHERE root_id = id"
    )


def downgrade() -> None:
    op.drop_table("profile_search_pending")
    op.drop_index("ix_profile_search_rows_created", table_name="profile_search_rows")
    op.drop_index("ix_profile_search_rows_seen", table_name="profile_search_rows")
    op.drop_table("profile_search_rows")
    op.drop_index("ix_profile_search_tokens_profile", table_name="profile_search_tokens")
    op.drop_table("profile_search_tokens")
