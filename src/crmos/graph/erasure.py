"""The graph's part of an erasure: the person's nodes, edges, activity, scores, audience
memberships and rule state.

A person is the nodes ``profile:<id>`` of their profile tree; every edge with one of those
ends goes (the record and both adjacency rows), and so does a device node left with no edge
(a device id identifies its owner). Rule state keyed by their nodes, activity, role and intent
scores, audience memberships and picks are deleted; other records quoting them (another edge's
evidence, another node's label) keep their rows with the person's strings replaced.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete, or_, select
from sqlalchemy.sql.elements import ColumnElement

from crmos.core.datamap import DataMap, Erased, Holding, Person
from crmos.graph.model import node_id
from crmos.store import in_chunks, pseudonymise_rows
from crmos.store.tables_graph import (
    graph_activity,
    graph_adjacency,
    graph_audience_members,
    graph_audience_picks,
    graph_edges,
    graph_nodes,
    graph_rule_failures,
    graph_rule_state,
    graph_scores,
)

DATA_MAP = DataMap(
    room="graph",
    holdings=(
        Holding("table", "graph_nodes", ("id", "label", "props"), "profile:<id>, their devices"),
        Holding(
            "table",
            "graph_edges",
            ("src", "dst", "src_key", "dst_key", "evidence"),
            "an end in the person's nodes",
        ),
        Holding("table", "graph_adjacency", ("node", "other"), "an end in the person's nodes"),
        Holding("table", "graph_activity", ("name",), "profile_id in the tree"),
        Holding("table", "graph_scores", ("evidence",), "profile_id in the tree"),
        Holding("table", "graph_audience_members", ("profile_id",), "profile_id in the tree"),
        Holding("table", "graph_audience_picks", ("profile_id",), "profile_id in the tree"),
        Holding("table", "graph_rule_state", ("key", "state"), "key is one of the person's nodes"),
        Holding("table", "graph_rule_failures", ("error",), "seq of the person's events"),
    ),
)


class GraphEraser:
    """The graph room's eraser."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Forget ``person``'s nodes and everything keyed by their profiles."""
        ws, tree = person.workspace_id, person.profile_ids
        nodes = [node_id("profile", p) for p in tree]
        devices = self._devices(conn, ws, nodes)
        e, a = graph_edges.c, graph_adjacency.c
        ends = or_(
            in_chunks(e.src, nodes),
            in_chunks(e.dst, nodes),
            in_chunks(e.src_key, nodes),
            in_chunks(e.dst_key, nodes),
        )
        counts = {
            "graph_edges": _delete(conn, graph_edges, (e.workspace_id == ws) & ends),
            "graph_adjacency": _delete(
                conn,
                graph_adjacency,
                (a.workspace_id == ws) & (in_chunks(a.node, nodes) | in_chunks(a.other, nodes)),
            ),
        }
        orphans = self._orphans(conn, ws, devices)
        n = graph_nodes.c
        counts["graph_nodes"] = _delete(
            conn, graph_nodes, (n.workspace_id == ws) & in_chunks(n.id, nodes + orphans)
        )
        for table in (graph_activity, graph_scores, graph_audience_members, graph_audience_picks):
            where = in_chunks(table.c.profile_id, tree)
            if "workspace_id" in table.c:
                where = (table.c.workspace_id == ws) & where
            counts[table.name] = _delete(conn, table, where)
        s, f = graph_rule_state.c, graph_rule_failures.c
        counts["graph_rule_state"] = _delete(
            conn, graph_rule_state, (s.workspace_id == ws) & in_chunks(s.key, nodes)
        )
        counts["graph_rule_failures"] = _delete(
            conn, graph_rule_failures, (f.workspace_id == ws) & in_chunks(f.seq, person.seqs)
        )
        needles = person.needles
        counts["graph_edges"] += pseudonymise_rows(
            conn, graph_edges, e.workspace_id == ws, ("evidence",), needles
        )
        counts["graph_nodes"] += pseudonymise_rows(
            conn, graph_nodes, n.workspace_id == ws, ("label", "props"), needles
        )
        counts["graph_rule_state"] += pseudonymise_rows(
            conn, graph_rule_state, s.workspace_id == ws, ("state",), needles
        )
        return Erased(counts)

    def _devices(self, conn: Connection, ws: str, nodes: list[str]) -> list[str]:
        """Device nodes the person's nodes use."""
        e = graph_edges.c
        rows = conn.execute(
            select(e.dst).where(
                e.workspace_id == ws,
                e.type == "uses_device",
                in_chunks(e.src, nodes) | in_chunks(e.src_key, nodes),
            )
        ).scalars()
        return sorted(set(rows))

    def _orphans(self, conn: Connection, ws: str, devices: list[str]) -> list[str]:
        """Those of ``devices`` no edge reaches any more (once the person's edges are gone)."""
        if not devices:
            return []
        a = graph_adjacency.c
        used = set(
            conn.execute(
                select(a.node).where(a.workspace_id == ws, in_chunks(a.node, devices))
            ).scalars()
        )
        return [d for d in devices if d not in used]


def _delete(conn: Connection, table: Table, where: ColumnElement[bool]) -> int:
    return conn.execute(delete(table).where(where)).rowcount or 0
