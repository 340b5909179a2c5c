"""sequences never reused: SQLite AUTOINCREMENT on the event log and every log-like table

SQLite hands out max(rowid)+1 for a plain INTEGER PRIMARY KEY, so when an erasure deleted the
newest events the next events got their numbers again: numbers at or below the consumers'
offsets, which identity, graph and triggers then never read (issue 13, finding 2). With
AUTOINCREMENT SQLite keeps the highest number ever given in ``sqlite_sequence`` and never goes
below it. Each table is rebuilt (Alembic batch mode) keeping its rows and numbers; the event
log's counter also starts above every consumer offset and identity's copy of event numbers, so
numbers handed out before this migration and since erased are not given again either.

PostgreSQL needs nothing: these columns are BIGSERIAL, whose sequences never cycle.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "events",
    "stream_failures",
    "identity_conflicts",
    "identity_rejections",
    "saga_timeline",
    "audit_log",
    "graph_rule_failures",
    "playbook_activations",
    "component_refusals",
    "agent_intents",
    "knowledge_passages",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        _rebuild(table, autoincrement=True)
    conn = op.get_bind()
    # Numbers already given out and erased before this migration: the highest a consumer or
    # identity has seen may lie above every event still stored.
    seen = conn.execute(
        sa.text(
            "SELECT max(coalesce((SELECT max(seq) FROM events), 0),"
            " coalesce((SELECT max(seq) FROM stream_offsets), 0),"
            " coalesce((SELECT max(seq) FROM profile_events), 0))"
        )
    ).scalar_one()
    conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'events'"))
    conn.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', :seq)"), {"seq": seen}
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        _rebuild(table, autoincrement=False)


def _rebuild(table: str, *, autoincrement: bool) -> None:
    """Recreate ``table`` from its reflected definition, rows, numbers and indexes kept."""
    with op.batch_alter_table(
        table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
