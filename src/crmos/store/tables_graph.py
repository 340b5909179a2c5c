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

from collections.abc import Sequence

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
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
from sqlalchemy.sql.dml import Insert

from crmos.store.dialect import dialect_insert
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
    Index("ix_graph_edges_valid_to", "workspace_id", "valid_to_ms"),  # expiry sweeps
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
    sqlite_autoincrement=True,
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

graph_audience_picks = Table(
    "graph_audience_picks",
    metadata,
    Column("audience_id", String(_ID), nullable=False),
    Column("profile_id", String(_ID), nullable=False, comment="the profile a person picked"),
    Column("picked_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("audience_id", "profile_id"),
    comment="who was added to a hand-picked audience; its members are their live profiles",
)


def upsert_activity(engine: Engine) -> Insert:
    """Insert activity rows, or add their count and keep the later ``last_ms``/``last_seq``."""
    t = graph_activity
    stmt = dialect_insert(engine, t)
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
    stmt = dialect_insert(engine, table)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in columns}
    )


# SQLite has no LATERAL join: a correlated scalar subquery per (node, type) pair reads that
# pair's ``k`` strongest rows (one range scan of the key, LIMIT k) and hands them back as one
# JSON array; weights travel as 17-digit text ('!' lifts printf's 16-digit cap), since JSON's
# 15 digits would not give back the stored float. The statement's text is the same whatever
# the number of pairs (they travel as two JSON arrays), so SQLite prepares it once per
# connection; a UNION ALL of one arm per pair was a new statement for every frontier size,
# re-prepared and re-bound through SQLAlchemy (milliseconds).
_STRONGEST_SQLITE = (
    "SELECT n.value, t.value, (SELECT json_group_array(json_array(printf('%!.17g', x.neg_weight), "
    "x.other)) "
    "FROM (SELECT g.neg_weight, g.other FROM graph_adjacency g WHERE g.workspace_id = ?1 "
    "AND g.node = n.value AND g.type = t.value ORDER BY g.neg_weight, g.other LIMIT ?4) AS x) "
    "FROM json_each(?2) AS n CROSS JOIN json_each(?3) AS t"
)
_STRONGEST_POSTGRES = (
    "SELECT a.node, a.type, a.neg_weight, a.other "
    "FROM unnest(%(nodes)s::text[]) AS p(node) CROSS JOIN unnest(%(types)s::text[]) AS q(type) "
    "CROSS JOIN LATERAL (SELECT g.node, g.type, g.neg_weight, g.other "
    "FROM graph_adjacency g WHERE g.workspace_id = %(ws)s AND g.node = p.node "
    "AND g.type = q.type ORDER BY g.neg_weight, g.other LIMIT %(k)s) AS a"
)

Adjacent = tuple[str, str, float, str]


def strongest_edges(
    conn: Connection, workspace_id: str, nodes: Sequence[str], types: Sequence[str], k: int
) -> list[Adjacent]:
    """(node, type, weight, other) for the ``k`` strongest edges of each node and type given.

    One statement whatever the number of nodes; each (node, type) pair reads at most ``k``
    rows of the adjacency key, however many edges a hub has.
    """
    if not nodes or not types or k < 1:
        return []
    if conn.engine.dialect.name == "postgresql":
        params = {"ws": workspace_id, "nodes": list(nodes), "types": list(types), "k": k}
        rows = conn.exec_driver_sql(_STRONGEST_POSTGRES, params)
        return [(r[0], r[1], -r[2], r[3]) for r in rows]
    args = (workspace_id, orjson.dumps(list(nodes)).decode(), orjson.dumps(list(types)).decode(), k)
    out: list[Adjacent] = []
    for node, type_, found in conn.exec_driver_sql(_STRONGEST_SQLITE, args):
        out += [(node, type_, -float(nw), other) for nw, other in orjson.loads(found)]
    return out
