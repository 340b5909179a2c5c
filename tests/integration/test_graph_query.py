"""Graph queries on the adjacency read model: hub fan-out is bounded by design, on both stores."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from crmos.bootstrap import Container
from crmos.core.errors import NotFound
from crmos.graph import ensure_node, neighbourhood, neighbours, put_edge, shortest_path

HUB = "account:hub"


def _edge(conn: Connection, ws: str, a: str, type_: str, b: str, weight: float) -> None:
    for node in (a, b):
        ensure_node(conn, ws, node)
    put_edge(conn, ws, (a, a, b, b), type_, weight=weight, at_ms=0, rule="test", seqs=[1])


@pytest.fixture
def hub(container: Container) -> str:
    """A workspace whose hub account has 300 works_at edges (profile:w<i> weighs i/300), 40
    co_attended edges all of weight 1.0, and one start profile attached to it."""
    ws, _, _ = container.workspaces.create("hubs")
    with container.engine.begin() as conn:
        for i in range(1, 301):
            _edge(conn, ws.id, f"profile:w{i:03}", "works_at", HUB, i / 300)
        for i in range(40):
            _edge(conn, ws.id, HUB, "co_attended", f"profile:c{i:02}", 1.0)
        _edge(conn, ws.id, "profile:start", "uses_device", "device:phone", 1.0)
        _edge(conn, ws.id, "device:phone", "uses_device", HUB, 0.5)
    return ws.id


def test_a_hub_gives_only_its_k_strongest_edges_per_type_whatever_its_degree(
    container: Container, hub: str
) -> None:
    with container.engine.connect() as conn:
        rows = neighbours(conn, hub, [HUB], ["works_at", "co_attended"], 10)
    works = [(other, w) for node, t, w, other in rows if t == "works_at" and node == HUB]
    assert works == [(f"profile:w{i:03}", i / 300) for i in range(300, 290, -1)]
    tied = sorted(other for _, t, _, other in rows if t == "co_attended")
    assert tied == [f"profile:c{i:02}" for i in range(10)]  # equal weights: still k, by id


def test_many_nodes_come_back_from_one_call_and_unknown_ones_yield_nothing(
    container: Container, hub: str
) -> None:
    nodes = [f"profile:w{i:03}" for i in range(1, 301)] + ["profile:nobody"]
    with container.engine.connect() as conn:
        rows = neighbours(conn, hub, nodes, ["works_at", "no_such_type"], 3)
        other_ws = neighbours(conn, "ws_other", [HUB], ["works_at"], 5)
    assert len(rows) == 300
    assert {(node, other) for node, _, _, other in rows} == {(n, HUB) for n in nodes[:-1]}
    assert other_ws == []


def test_a_two_hop_neighbourhood_through_a_hub_follows_only_its_strongest_edges(
    container: Container, hub: str
) -> None:
    with container.engine.connect() as conn:
        answer = neighbourhood(
            conn, hub, "profile:start", hops=3, edge_types=["uses_device", "works_at"], limit=50
        )
    found = {n.node: n for n in answer.nodes}
    assert found["account:hub"].hops == 2
    # hop 3 reads max(5, 50 // 5) = 10 edges per node and type: the hub's 10 strongest
    third = sorted(n for n, v in found.items() if v.hops == 3)
    assert third == [f"profile:w{i:03}" for i in range(291, 301)]
    assert answer.edges and all(e.evidence for e in answer.edges)


def test_a_path_runs_through_the_hub_and_an_unknown_node_is_not_found(
    container: Container, hub: str
) -> None:
    with container.engine.connect() as conn:
        answer = shortest_path(conn, hub, "profile:start", "profile:w300", max_hops=3)
        with pytest.raises(NotFound):
            shortest_path(conn, hub, "profile:start", "profile:nobody")
    assert answer.path == ["profile:start", "device:phone", HUB, "profile:w300"]
    assert sorted(e.type for e in answer.edges) == ["uses_device", "uses_device", "works_at"]
