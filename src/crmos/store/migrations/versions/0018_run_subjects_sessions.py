"""run subjects, hand-picked audience picks, and stored console sessions

- ``saga_runs.profile_id``: the subject profile a run acts for (the plan's ``profile_id``),
  indexed by workspace, profile and time, so a profile's timeline and an account page find the
  runs of a person whatever started them (a playbook firing or ``POST /api/v1/runs``). Runs
  written before this migration get it from their plan JSON.
- ``graph_audience_picks``: the profiles a person added to a hand-picked audience. Its members
  are their live profiles: a merged-away pick is replaced by the survivor, and a split brings
  back the profile that was picked. Filled from the hand-picked audiences' members.
- ``console_sessions``: signed-in console sessions, stored so they survive a restart and hold
  across several ``crmos serve`` nodes. Only a SHA-256 of the session token is kept, with the
  API key it signed in with, the key's scopes then, and when it expires.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(40)
HAND_PICKED = "hand_picked"  # graph.audiences.HAND_PICKED when this was written
_runs = sa.table(
    "saga_runs",
    sa.column("id", sa.String),
    sa.column("plan", sa.Text),
    sa.column("profile_id", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("saga_runs") as batch:
        batch.add_column(
            sa.Column(
                "profile_id", _ID, nullable=True, comment="the subject profile it acts for"
            )
        )  # fmt: skip
    op.create_index(
        "ix_saga_runs_profile", "saga_runs", ["workspace_id", "profile_id", "created_ms"]
    )
    _backfill_subjects()
    op.create_table(
        "console_sessions",
        sa.Column(
            "token_hash", sa.String(64), primary_key=True, comment="sha256 hex of the session token"
        ),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("key_id", _ID, nullable=False, comment="the API key it signed in with"),
        sa.Column("scopes", sa.String(200), nullable=False, comment="the key's scopes then"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False, comment="hard end"),
    )
    op.create_index("ix_console_sessions_key", "console_sessions", ["key_id"])
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_ms"])
    op.create_table(
        "graph_audience_picks",
        sa.Column("audience_id", _ID, nullable=False),
        sa.Column("profile_id", _ID, nullable=False, comment="the profile a person picked"),
        sa.Column("picked_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("audience_id", "profile_id"),
        comment="who was added to a hand-picked audience; its members are their live profiles",
    )
    _backfill_picks()


def downgrade() -> None:
    op.drop_table("graph_audience_picks")
    op.drop_index("ix_console_sessions_expires", table_name="console_sessions")
    op.drop_index("ix_console_sessions_key", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_saga_runs_profile", table_name="saga_runs")
    with op.batch_alter_table("saga_runs") as batch:
        batch.drop_column("profile_id")


def _backfill_subjects() -> None:
    """Each run's subject from its plan, where the plan names one."""
    conn = op.get_bind()
    r = _runs.c
    found: list[dict[str, str]] = []
    for run_id, plan in conn.execute(sa.select(r.id, r.plan)):
        subject = orjson.loads(plan).get("profile_id")
        if isinstance(subject, str) and subject:
            found.append({"rid": run_id, "subject": subject[:40]})
    for start in range(0, len(found), 1000):
        stmt = sa.update(_runs).where(r.id == sa.bindparam("rid"))
        conn.execute(stmt.values(profile_id=sa.bindparam("subject")), found[start : start + 1000])


def _backfill_picks() -> None:
    """Today's members of the hand-picked audiences are the profiles picked."""
    audiences = sa.table(
        "graph_audiences", sa.column("id", sa.String), sa.column("condition", sa.Text)
    )
    members = sa.table(
        "graph_audience_members",
        sa.column("audience_id", sa.String),
        sa.column("profile_id", sa.String),
        sa.column("since_ms", sa.BigInteger),
    )
    picks = sa.table(
        "graph_audience_picks",
        sa.column("audience_id", sa.String),
        sa.column("profile_id", sa.String),
        sa.column("picked_ms", sa.BigInteger),
    )
    hand = sa.select(audiences.c.id).where(audiences.c.condition == HAND_PICKED)
    m = members.c
    rows = sa.select(m.audience_id, m.profile_id, m.since_ms).where(m.audience_id.in_(hand))
    op.get_bind().execute(
        sa.insert(picks).from_select(["audience_id", "profile_id", "picked_ms"], rows)
    )
