"""published joints: identity's change feed by sequence, and each saga run's origin

- ``identity_changes``: one fact per merge and per split, numbered by a sequence that is never
  given twice. Graph followed identity by polling ``identity_merges`` with a time cursor and a
  2-second slack; it now keeps the last number it applied. Past merges and splits are written
  into the feed in time order, and graph's time cursor becomes the number of the last fact
  older than it was minus the old slack (those after are applied again: applying is idempotent).
- ``saga_runs.origin``: what started a run (a playbook firing's decision id), with an index.
  Playbooks found a firing's run by searching the run's plan JSON; runs written before this
  migration get their origin from that JSON.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(40)
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_SLACK_MS = 2_000
OLD_CURSOR, NEW_CURSOR = "merges", "identity_changes"

_merges = sa.table(
    "identity_merges",
    sa.column("id", sa.String),
    sa.column("workspace_id", sa.String),
    sa.column("survivor_id", sa.String),
    sa.column("other_id", sa.String),
    sa.column("created_ms", sa.BigInteger),
    sa.column("split_ms", sa.BigInteger),
)
_cursors = sa.table(
    "graph_cursors",
    sa.column("workspace_id", sa.String),
    sa.column("name", sa.String),
    sa.column("value", sa.BigInteger),
)
_runs = sa.table(
    "saga_runs",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("plan", sa.Text),
    sa.column("origin", sa.String),
)


def upgrade() -> None:
    changes = op.create_table(
        "identity_changes",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False, comment="merge | split"),
        sa.Column("merge_id", _ID, nullable=False),
        sa.Column("survivor_id", _ID, nullable=False),
        sa.Column("other_id", _ID, nullable=False, comment="merged away, or restored by a split"),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_identity_changes_workspace", "identity_changes", ["workspace_id", "seq"])
    assert changes is not None
    _backfill_changes(changes)
    _convert_cursors()
    with op.batch_alter_table("saga_runs") as batch:
        batch.add_column(
            sa.Column(
                "origin", sa.String(200), nullable=True,
                comment="what started it, e.g. a decision id",
            )
        )  # fmt: skip
    op.create_index("ix_saga_runs_origin", "saga_runs", ["workspace_id", "origin"])
    _backfill_origins()


def downgrade() -> None:
    op.drop_index("ix_saga_runs_origin", table_name="saga_runs")
    with op.batch_alter_table("saga_runs") as batch:
        batch.drop_column("origin")
    conn = op.get_bind()
    changes = sa.table(
        "identity_changes",
        sa.column("seq", sa.BigInteger),
        sa.column("workspace_id", sa.String),
        sa.column("at_ms", sa.BigInteger),
    )
    c, g = changes.c, _cursors.c
    for ws, seq in conn.execute(sa.select(g.workspace_id, g.value).where(g.name == NEW_CURSOR)):
        at = conn.execute(
            sa.select(sa.func.max(c.at_ms)).where(c.workspace_id == ws, c.seq <= seq)
        ).scalar()
        conn.execute(sa.insert(_cursors).values(workspace_id=ws, name=OLD_CURSOR, value=at or 0))
    conn.execute(sa.delete(_cursors).where(g.name == NEW_CURSOR))
    op.drop_index("ix_identity_changes_workspace", table_name="identity_changes")
    op.drop_table("identity_changes")


def _backfill_changes(changes: sa.Table) -> None:
    """Every recorded merge, and every split, as facts in time order (merge before its split)."""
    conn = op.get_bind()
    facts: list[tuple[int, int, str, dict[str, Any]]] = []
    for r in conn.execute(sa.select(_merges)):
        base = {"workspace_id": r.workspace_id, "merge_id": r.id, "survivor_id": r.survivor_id}
        base |= {"other_id": r.other_id}
        facts.append((r.created_ms, 0, r.id, base | {"kind": "merge", "at_ms": r.created_ms}))
        if r.split_ms is not None:
            facts.append((r.split_ms, 1, r.id, base | {"kind": "split", "at_ms": r.split_ms}))
    facts.sort(key=lambda f: f[:3])
    for start in range(0, len(facts), 1000):
        conn.execute(changes.insert(), [f[3] for f in facts[start : start + 1000]])


def _convert_cursors() -> None:
    """Graph's time cursor per workspace becomes the number of the last fact it surely applied."""
    conn = op.get_bind()
    changes = sa.table(
        "identity_changes",
        sa.column("seq", sa.BigInteger),
        sa.column("workspace_id", sa.String),
        sa.column("at_ms", sa.BigInteger),
    )
    c, g = changes.c, _cursors.c
    for ws, mark in conn.execute(sa.select(g.workspace_id, g.value).where(g.name == OLD_CURSOR)):
        # The old reader applied everything at or after ``mark - slack`` again, so only what
        # lies before that is known to be applied.
        seq = conn.execute(
            sa.select(sa.func.max(c.seq)).where(c.workspace_id == ws, c.at_ms < mark - OLD_SLACK_MS)
        ).scalar()
        conn.execute(sa.insert(_cursors).values(workspace_id=ws, name=NEW_CURSOR, value=seq or 0))
    conn.execute(sa.delete(_cursors).where(g.name == OLD_CURSOR))


def _backfill_origins() -> None:
    """Runs started by a playbook firing name its decision in their input: that is the origin."""
    conn = op.get_bind()
    r = _runs.c
    found: list[dict[str, str]] = []
    for run_id, plan in conn.execute(sa.select(r.id, r.plan).where(r.name.like("playbook:%"))):
        decision = (orjson.loads(plan).get("input") or {}).get("decision_id")
        if isinstance(decision, str):
            found.append({"rid": run_id, "decision": decision})
    if found:
        stmt = sa.update(_runs).where(r.id == sa.bindparam("rid"))
        conn.execute(stmt.values(origin=sa.bindparam("decision")), found)
