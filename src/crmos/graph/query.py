"""Queries: k-hop neighbourhood, shortest path, top related accounts, with edge evidence.

The first hop reads, per edge type, the ``fanout`` strongest edges of the start node from the
adjacency index (one short range scan each); later hops carry the ``fanout`` best nodes on and
read ``max(5, fanout // 5)`` strongest edges per node and type. A 2-hop query with fanout 50
and 2 types so reads at most 100 + 50 * 2 * 10 = 1,100 rows, whatever the hubs' degrees: hub
fan-out is bounded by design. The price: through a hub, only its strongest edges count.
The path search tapers the same way: a side's first expansion reads ``fanout`` edges per node
and type, its later ones a fifth of that.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, func, select

from crmos.core.errors import NotFound, Problem, ValidationError
from crmos.graph.edges import edge_views
from crmos.graph.model import NODE_KINDS, Answer, EdgeView, Neighbour, kind_of, node_id
from crmos.identity import live_profile_key
from crmos.store.tables_graph import graph_nodes, strongest_edges

# Untyped queries follow these (the structural, shipped-rule and manual types); name others.
DEFAULT_TYPES = (
    "works_at",
    "uses_device",
    "attended",
    "co_attended",
    "potential_partner",
    "related",
)
FRONTIER = 1000

Row = tuple[str, str, float, str]


def neighbours(
    conn: Connection,
    workspace_id: str,
    nodes: Sequence[str],
    types: Sequence[str],
    k: int,
) -> list[Row]:
    """(node, type, weight, other) for the ``k`` strongest edges per node and type."""
    return strongest_edges(conn, workspace_id, nodes, types, k)


_n = graph_nodes.c
# One round trip: a profile id resolves to its merge survivor inside the node lookup.
_LIVE_PROFILE = func.coalesce(
    live_profile_key(bindparam("ws"), bindparam("key"), prefix="profile:"), bindparam("node")
)
_RESOLVE_PROFILE = select(_n.id).where(_n.workspace_id == bindparam("ws"), _n.id == _LIVE_PROFILE)
_RESOLVE = select(_n.id).where(_n.workspace_id == bindparam("ws"), _n.id == bindparam("node"))


def resolve(conn: Connection, workspace_id: str, node: str) -> str:
    """The live id of ``node`` (a merged profile resolves to its survivor), or ``NotFound``."""
    profile = kind_of(node) == "profile"
    params = {"ws": workspace_id, "node": node, "key": node[8:]}
    found = conn.execute(_RESOLVE_PROFILE if profile else _RESOLVE, params).scalar_one_or_none()
    if found is None:
        raise NotFound("node", node)
    return str(found)


def _check(types: Sequence[str] | None, kinds: Sequence[str] | None, hops: int) -> None:
    problems = []
    if not 1 <= hops <= 3:
        problems.append(Problem("hops", f"{hops}: must be 1, 2 or 3"))
    bad = [k for k in kinds or () if k not in NODE_KINDS]
    if bad:
        problems.append(Problem("node_kind", f"{bad}: valid kinds are {', '.join(NODE_KINDS)}"))
    if types is not None and not types:
        problems.append(Problem("edge_type", "give at least one type, or none for all"))
    if problems:
        raise ValidationError("bad graph query", problems)


def neighbourhood(
    conn: Connection,
    workspace_id: str,
    start: str,
    *,
    hops: int = 2,
    edge_types: Sequence[str] | None = None,
    node_kinds: Sequence[str] | None = None,
    limit: int = 50,
    fanout: int = 50,
    evidence: bool = True,
) -> Answer:
    """The ``limit`` best nodes within ``hops`` of ``start`` (score: sum of path weights)."""
    _check(edge_types, node_kinds, hops)
    start = resolve(conn, workspace_id, start)
    types = list(edge_types or DEFAULT_TYPES)
    frontier = {start: 1.0}
    best: dict[str, Neighbour] = {}
    via: dict[str, tuple[str, str, str]] = {}
    for hop in range(1, hops + 1):
        reached: dict[str, float] = {}
        k = fanout if hop == 1 else max(5, fanout // 5)
        for node, type_, w, other in neighbours(conn, workspace_id, list(frontier), types, k):
            if other == start:
                continue
            reached[other] = reached.get(other, 0.0) + frontier[node] * w
            via.setdefault(other, (node, type_, other))
        for other, score in reached.items():
            old = best.get(other)
            best[other] = Neighbour(
                other, old.hops if old else hop, score + (old.score if old else 0)
            )
        frontier = dict(heapq.nlargest(fanout, reached.items(), key=lambda kv: kv[1]))
    wanted = set(node_kinds or NODE_KINDS)
    ranked = [n for n in best.values() if n.node.partition(":")[0] in wanted]
    ranked = heapq.nsmallest(limit, ranked, key=lambda n: (-n.score, n.hops, n.node))
    edges = _trail(conn, workspace_id, start, ranked, via) if evidence else []
    return Answer(start, ranked, edges)


def _trail(
    conn: Connection,
    workspace_id: str,
    start: str,
    ranked: list[Neighbour],
    via: dict[str, tuple[str, str, str]],
) -> list[EdgeView]:
    pairs: set[tuple[str, str, str]] = set()
    for n in ranked:
        node = n.node
        while node != start and node in via and len(pairs) < 1000:
            pair = via[node]
            if pair in pairs:
                break
            pairs.add(pair)
            node = pair[0]
    return edge_views(conn, workspace_id, pairs)


def shortest_path(
    conn: Connection,
    workspace_id: str,
    source: str,
    target: str,
    *,
    max_hops: int = 4,
    edge_types: Sequence[str] | None = None,
    fanout: int = 100,
    evidence: bool = True,
) -> Answer:
    """Fewest hops from ``source`` to ``target`` (bidirectional, bounded); ``NotFound`` if none."""
    if not 1 <= max_hops <= 6:
        raise ValidationError("bad path query", [Problem("max_hops", f"{max_hops}: 1 to 6")])
    a, b = resolve(conn, workspace_id, source), resolve(conn, workspace_id, target)
    types = list(edge_types or DEFAULT_TYPES)
    sides = [{a: ("", "")}, {b: ("", "")}]
    fronts = [[a], [b]]
    meet = a if a == b else None
    depth, grown = 0, [0, 0]
    while meet is None and depth < max_hops and fronts[0] and fronts[1]:
        i = 0 if len(fronts[0]) <= len(fronts[1]) else 1
        k = fanout if grown[i] == 0 else max(5, fanout // 5)  # taper, as neighbourhoods do
        fronts[i], meet = _expand(conn, workspace_id, fronts[i], sides[i], sides[1 - i], types, k)
        depth, grown[i] = depth + 1, grown[i] + 1
    if meet is None:
        raise NotFound("path", f"{a} -> {b} within {max_hops} hops")
    path = _walk(sides[0], meet)[::-1] + _walk(sides[1], meet)[1:]
    edges = _path_edges(conn, workspace_id, path, sides) if evidence else []
    nodes = [Neighbour(n, j, 0.0) for j, n in enumerate(path)]
    return Answer(a, nodes, edges, path=path)


def _expand(
    conn: Connection,
    workspace_id: str,
    front: list[str],
    mine: dict[str, tuple[str, str]],
    theirs: dict[str, tuple[str, str]],
    types: list[str],
    fanout: int,
) -> tuple[list[str], str | None]:
    nxt: list[str] = []
    meet = None
    for node, type_, _w, other in neighbours(conn, workspace_id, front, types, fanout):
        if other in mine:
            continue
        mine[other] = (node, type_)
        nxt.append(other)
        if other in theirs and meet is None:
            meet = other
    return nxt[:FRONTIER], meet


def _walk(parents: dict[str, tuple[str, str]], node: str) -> list[str]:
    out = [node]
    while parents[node][0]:
        node = parents[node][0]
        out.append(node)
    return out


def _path_edges(
    conn: Connection,
    workspace_id: str,
    path: list[str],
    sides: list[dict[str, tuple[str, str]]],
) -> list[EdgeView]:
    pairs = []
    for j in range(len(path) - 1):
        x, y = path[j], path[j + 1]
        type_ = sides[0].get(y, ("", ""))[1] if sides[0].get(y, ("", ""))[0] == x else ""
        type_ = type_ or sides[1].get(x, ("", ""))[1]
        pairs.append((x, type_, y))
    return edge_views(conn, workspace_id, pairs)


def top_accounts(
    conn: Connection, workspace_id: str, profile_id: str, *, limit: int = 10, fanout: int = 50
) -> Answer:
    """Accounts most strongly related to a profile within 2 hops, by summed edge weight."""
    start = profile_id if profile_id.startswith("profile:") else node_id("profile", profile_id)
    return neighbourhood(
        conn, workspace_id, start, hops=2, node_kinds=["account"], limit=limit, fanout=fanout
    )
