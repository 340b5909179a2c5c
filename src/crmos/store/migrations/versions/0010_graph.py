"""graph nodes, edges, scores, audiences

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ID = sa.String(40)
_NODE = sa.String(300)
_TABLES = (
    "graph_audience_members",
    "graph_audiences",
    "graph_cursors",
    "graph_rule_failures",
    "graph_rule_stats",
    "graph_rule_state",
    "graph_activity",
    "graph_scores",
    "graph_adjacency",
    "graph_edges",
    "graph_nodes",
)


def upgrade() -> None:
    _nodes_and_edges()
    _scores_and_activity()
    _rules()
    _audiences()


def _nodes_and_edges() -> None:
    op.create_table(
        "graph_nodes",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column("id", _NODE, primary_key=True, comment="kind:key"),
        sa.Column(
            "kind",
            sa.String(16),
            nullable=False,
            comment="profile | account | device | occasion",
        ),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("props", sa.Text(), nullable=False, comment="JSON"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_graph_nodes_kind", "graph_nodes", ["workspace_id", "kind"])
    op.create_table(
        "graph_edges",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("src_key", _NODE, nullable=False, comment="source node as first seen"),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("dst_key", _NODE, nullable=False, comment="target node as first seen"),
        sa.Column("src", _NODE, nullable=False, comment="source node now (after merges)"),
        sa.Column("dst", _NODE, nullable=False, comment="target node now (after merges)"),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("valid_from_ms", sa.BigInteger(), nullable=False),
        sa.Column("valid_to_ms", sa.BigInteger(), nullable=True),
        sa.Column(
            "rule", sa.String(100), nullable=False, comment="rule id@version, or api/structure"
        ),
        sa.Column(
            "evidence", sa.Text(), nullable=False, comment="JSON {events: [seq], notes: [...]}"
        ),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "src_key", "type", "dst_key"),
    )
    op.create_index("ix_graph_edges_now", "graph_edges", ["workspace_id", "src", "type", "dst"])
    op.create_index("ix_graph_edges_dst", "graph_edges", ["workspace_id", "dst", "type"])
    op.create_index("ix_graph_edges_dst_key", "graph_edges", ["workspace_id", "dst_key"])
    op.create_table(
        "graph_adjacency",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("node", _NODE, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column(
            "neg_weight",
            sa.Float(),
            nullable=False,
            comment="-weight: strongest first in the key",
        ),
        sa.Column("other", _NODE, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "node", "type", "neg_weight", "other"),
        sqlite_with_rowid=False,
    )


def _scores_and_activity() -> None:
    op.create_table(
        "graph_scores",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("profile_id", _ID, nullable=False, comment="profile the evidence came from"),
        sa.Column("name", sa.String(64), nullable=False, comment="role or intent"),
        sa.Column(
            "value", sa.Float(), nullable=False, comment="confidence at updated_ms, before decay"
        ),
        sa.Column("half_life_ms", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False, comment="JSON list of reinforcements"),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "profile_id", "name"),
    )
    op.create_table(
        "graph_activity",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("profile_id", _ID, nullable=False, comment="profile the events came from"),
        sa.Column(
            "name", sa.String(255), nullable=False, comment="track name, or page/screen:<name>"
        ),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "profile_id", "name"),
    )


def _rules() -> None:
    op.create_table(
        "graph_rule_state",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("key", _NODE, nullable=False),
        sa.Column("state", sa.Text(), nullable=False, comment="JSON"),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "rule", "key"),
    )
    op.create_table(
        "graph_rule_stats",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("bucket_ms", sa.BigInteger(), nullable=False, comment="start of the minute"),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False, comment="evaluated | matched | failed"),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "bucket_ms", "rule", "outcome"),
    )
    op.create_table(
        "graph_rule_failures",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(1000), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_graph_rule_failures_time", "graph_rule_failures", ["workspace_id", "created_ms"]
    )
    op.create_table(
        "graph_cursors",
        sa.Column("workspace_id", _ID, primary_key=True),
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def _audiences() -> None:
    op.create_table(
        "graph_audiences",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "condition",
            sa.Text(),
            nullable=False,
            comment="CEL over traits, events, edges, scores",
        ),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_graph_audiences_name"),
    )
    op.create_table(
        "graph_audience_members",
        sa.Column("audience_id", _ID, nullable=False),
        sa.Column("profile_id", _ID, nullable=False, comment="live (root) profile"),
        sa.Column("since_ms", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True, comment="event that made it join"),
        sa.PrimaryKeyConstraint("audience_id", "profile_id"),
    )


def downgrade() -> None:
    for name in _TABLES:
        op.drop_table(name)
