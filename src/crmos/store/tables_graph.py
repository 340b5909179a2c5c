"""Graph tables: nodes, typed weighted edges with evidence, the adjacency index, role scores,
per-profile activity, rule state and accounting, audiences.

Node ids carry their kind as a prefix (``profile:01J..``, ``account:acme``), so a node-kind
filter needs no join. ``graph_edges`` is the record (evidence, validity, the profiles the edge
was first seen on); ``graph_adjacency`` is its read model: one row per edge end, clustered by
(workspace, node, type, -weight), so "the k strongest edges of a type" is one short range scan
even on a hub. On SQLite it is a WITHOUT ROWID table; on PostgreSQL its primary key holds every
column, so the same scan is index-only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from crmos.store.tables import SeqType, metadata

_ID = 40
_NODE = 300

graph_nodes = Table(
    "graph_nodes",
    metadata,
    Column("workspace_id", String(_ID), primary_key=True),
    Column("id", String(_NODE), primary_key=True, comment="kind:key"),
    Column("kind", String(16), nullable=False, comment="profile | account | device | occasion"),
    Column("label", String(255), nullable=True),
    Column("props", Text, nullable=False, comment="JSON"),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_graph_nodes_kind", "workspace_id", "kind"),
)

graph_edges = Table(
    "graph_edges",
    metadata,
    Column("workspace_id", String(_ID), nullable=False),
    Column("src_key", String(_NODE), nullable=False, comment="source node as first seen"),
    Column("type", String(40), nullable=False),
    Column("dst_key", String(_NODE), nullable=False, comment="target node as first seen"),
    Column("src", String(_NODE), nullable=False, comment="source node now (after merges)"),
    Column("dst", String(_NODE), nullable=False, comment="target node now (after merges)"),
    Column("weight", Float, nullable=False),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("valid_to_ms", BigInteger, nullable=True),
    Column("rule", String(100), nullable=False, comment="rule id@version, or api/structure"),
    Column("evidence", Text, nullable=False, comment="JSON {events: [seq], notes: [...]}"),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "src_key", "type", "dst_key"),
    Index("ix_graph_edges_now", "workspace_id", "src", "type", "dst"),
    Index("ix_graph_edges_dst", "workspace_id", "dst", "type"),
    Index("ix_graph_edges_dst_key", "workspace_id", "dst_key"),
)

graph_adjacency = Table(
    "graph_adjacency",
    metadata,
    Column("workspace_id", String(_ID), nullable=False),
    Column("node", String(_NODE), nullable=False),
    Column("type", String(40), nullable=False),
    Column("neg_weight", Float, nullable=False, comment="-weight: strongest first in the key"),
    Column("other", String(_NODE), nullable=False),
    PrimaryKeyConstraint("workspace_id", "node", "type", "neg_weight", "other"),
    sqlite_with_rowid=False,
)

graph_scores = Table(
    "graph_scores",
    metadata,
    Column("workspace_id", String(_ID), nullable=False),
    Column("profile_id", String(_ID), nullable=False, comment="profile the evidence came from"),
    Column("name", String(64), nullable=False, comment="role or intent"),
    Column("value", Float, nullable=False, comment="confidence at updated_ms, before decay"),
    Column("half_life_ms", BigInteger, nullable=False),
    Column("evidence", Text, nullable=False, comment="JSON list of reinforcements"),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "name"),
)

graph_activity = Table(
    "graph_activity",
    metadata,
    Column("workspace_id", String(_ID), nullable=False),
    Column("profile_id", String(_ID), nullable=False, comment="profile the events came from"),
    Column("name", String(255), nullable=False, comment="track name, or page/screen:<name>"),
    Column("count", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "name"),
)

graph_rule_state = Table(
    "graph_rule_state",
    metadata,
    Column("workspace_id", String(_ID), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("key", String(_NODE), nullable=False),
    Column("state", Text, nullable=False, comment="JSON"),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "rule", "key"),
)

graph_rule_stats = Table(
    "graph_rule_stats",
    metadata,
    Column("workspace_id", String(_ID), nullable=False),
    Column("bucket_ms", BigInteger, nullable=False, comment="start of the minute"),
    Column("rule", String(100), nullable=False),
    Column("outcome", String(16), nullable=False, comment="evaluated | matched | failed"),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "bucket_ms", "rule", "outcome"),
)

graph_rule_failures = Table(
    "graph_rule_failures",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(_ID), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("seq", BigInteger, nullable=True),
    Column("error", String(1000), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_graph_rule_failures_time", "workspace_id", "created_ms"),
)

graph_cursors = Table(
    "graph_cursors",
    metadata,
    Column("workspace_id", String(_ID), primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

graph_audiences = Table(
    "graph_audiences",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("workspace_id", String(_ID), nullable=False),
    Column("name", String(200), nullable=False),
    Column("condition", Text, nullable=False, comment="CEL over traits, events, edges, scores"),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_graph_audiences_name"),
)

graph_audience_members = Table(
    "graph_audience_members",
    metadata,
    Column("audience_id", String(_ID), nullable=False),
    Column("profile_id", String(_ID), nullable=False, comment="live (root) profile"),
    Column("since_ms", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=True, comment="event that made it join"),
    PrimaryKeyConstraint("audience_id", "profile_id"),
)


def upsert_activity(engine: Engine) -> Insert:
    """Insert activity rows, or add their count and keep the later ``last_ms``/``last_seq``."""
    stmt: sqlite.Insert | postgresql.Insert
    t = graph_activity
    stmt = sqlite.insert(t) if engine.dialect.name == "sqlite" else postgresql.insert(t)
    later = stmt.excluded.last_ms >= t.c.last_ms
    return stmt.on_conflict_do_update(
        index_elements=["workspace_id", "profile_id", "name"],
        set_={
            "count": t.c.count + stmt.excluded["count"],
            "last_ms": case((later, stmt.excluded.last_ms), else_=t.c.last_ms),
            "last_seq": case((later, stmt.excluded.last_seq), else_=t.c.last_seq),
        },
    )


def upsert_replace(engine: Engine, table: Table, keys: list[str], columns: list[str]) -> Insert:
    """Insert a row, or overwrite ``columns`` of the existing row with the same ``keys``."""
    stmt: sqlite.Insert | postgresql.Insert
    stmt = sqlite.insert(table) if engine.dialect.name == "sqlite" else postgresql.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in columns}
    )


def strongest_edges_sql(engine: Engine, arms: int) -> str:
    """SQL for the ``:k`` strongest adjacency rows of each (node, type) pair given.

    PostgreSQL takes the pairs as two arrays (``:nodes``, ``:types``) and runs one LATERAL
    index scan per pair; SQLite, without LATERAL, gets a UNION ALL of ``arms`` limited scans
    with parameters ``:n0, :t0, :n1, :t1 ...``. Either way each pair reads at most ``:k`` rows.
    """
    if engine.dialect.name == "postgresql":
        return (
            "SELECT a.node, a.type, a.neg_weight, a.other "
            "FROM unnest(CAST(:nodes AS text[]), CAST(:types AS text[])) AS p(node, type) "
            "CROSS JOIN LATERAL (SELECT g.node, g.type, g.neg_weight, g.other "
            "FROM graph_adjacency g WHERE g.workspace_id = :ws AND g.node = p.node "
            "AND g.type = p.type ORDER BY g.neg_weight LIMIT :k) AS a"
        )
    return " UNION ALL ".join(
        f"SELECT * FROM (SELECT node, type, neg_weight, other FROM graph_adjacency "
        f"WHERE workspace_id = :ws AND node = :n{j} AND type = :t{j} "
        f"ORDER BY neg_weight LIMIT :k)"
        for j in range(arms)
    )
