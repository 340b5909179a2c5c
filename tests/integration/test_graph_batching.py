"""The consumer's edge buffer writes a batch of changes exactly as ``put_edge`` would have
written them one by one: same weights, evidence, validity starts and adjacency rows."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from crmos.bootstrap import Container
from crmos.graph import expire_edges, put_edge
from crmos.graph.pending import Change, EdgeBuffer
from crmos.store.tables_graph import graph_adjacency, graph_edges

A, B, C = "profile:a", "profile:b", "profile:c"
ACME, GLOBEX = "account:acme", "account:globex"
CHANGES = [
    Change((B, B, A, A), "co_attended", 1.0, "max", 1_000, "co@1", (1,)),  # stored as (a, b)
    Change((A, A, B, B), "co_attended", 1.0, "max", 2_000, "co@1", (2,), {"occasion": "o"}),
    Change((ACME, ACME, GLOBEX, GLOBEX), "potential_partner", 0.6, "add", 3_000, "fp@1", (3,)),
    Change((ACME, ACME, GLOBEX, GLOBEX), "potential_partner", 0.6, "add", 4_000, "fp@1", (4, 3)),
    Change((C, C, ACME, ACME), "works_at", 1.0, "max", 5_000, "structure", (5,)),
    Change((A, A, ACME, ACME), "works_at", 0.5, "set", 6_000, "manual", (6,)),  # re-weights
]


def _put_one_by_one(container: Container, ws: str) -> None:
    with container.engine.begin() as conn:
        for c in CHANGES:
            put_edge(
                conn,
                ws,
                c.ends,
                c.type,
                weight=c.weight,
                mode=c.mode,
                at_ms=c.at_ms,
                rule=c.rule,
                seqs=c.seqs,
                note=c.note,
            )


def _put_batched(container: Container, ws: str) -> list[float]:
    with container.engine.begin() as conn:
        buffer = EdgeBuffer(conn, ws, keep=20, now=10_000)
        buffer.add(CHANGES[:2])
        weights = [e.weight for e in buffer.put(CHANGES[2:4])]  # results wanted at once
        buffer.add(CHANGES[4:])
        buffer.flush()
    return weights


def _state(container: Container, ws: str) -> tuple[list[Any], list[Any]]:
    e, a = graph_edges.c, graph_adjacency.c
    with container.engine.connect() as conn:
        edges = conn.execute(
            select(e.src_key, e.type, e.dst_key, e.src, e.dst, e.weight)
            .add_columns(e.valid_from_ms, e.valid_to_ms, e.rule, e.evidence)
            .where(e.workspace_id == ws)
            .order_by(e.src_key, e.type, e.dst_key)
        ).all()
        adjacency = conn.execute(
            select(a.node, a.type, a.neg_weight, a.other)
            .where(a.workspace_id == ws)
            .order_by(a.node, a.type, a.neg_weight, a.other)
        ).all()
    rows = [(*r[:9], orjson.loads(r[9])) for r in edges]
    return rows, [tuple(r) for r in adjacency]


def test_a_batch_of_changes_ends_as_writing_them_one_by_one(container: Container) -> None:
    one, _, _ = container.workspaces.create("one-by-one")
    batched, _, _ = container.workspaces.create("batched")
    for ws in (one.id, batched.id):  # an edge stored before the batch
        with container.engine.begin() as conn:
            put_edge(conn, ws, (A, A, ACME, ACME), "works_at", weight=1.0, at_ms=500, rule="s")
    _put_one_by_one(container, one.id)
    weights = _put_batched(container, batched.id)
    assert weights == [0.6, 1.2]
    assert _state(container, batched.id) == _state(container, one.id)
    edges, adjacency = _state(container, batched.id)
    assert {(r[0], r[2]) for r in edges if r[1] == "co_attended"} == {(A, B)}
    assert (A, "works_at", -0.5, ACME) in adjacency and (A, "works_at", -1.0, ACME) not in adjacency


def test_an_edge_with_a_validity_ends_that_long_after_its_latest_change(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("validity")
    month = 30 * 86_400_000
    first = Change((A, A, B, B), "co_attended", 1.0, "max", 1_000, "co@1", (1,), None, month)
    again = Change((A, A, B, B), "co_attended", 1.0, "max", 9_000, "co@1", (2,), None, month)
    with container.engine.begin() as conn:
        buffer = EdgeBuffer(conn, ws.id, keep=20, now=5_000)
        (view,) = buffer.put([first])
        assert view.valid_to_ms == 1_000 + month
        buffer.add([again])
        buffer.flush()
    edges, adjacency = _state(container, ws.id)
    assert [r[7] for r in edges] == [9_000 + month]
    assert len(adjacency) == 2
    with container.engine.begin() as conn:  # a batch long after: the edge had ended
        expire_edges(conn, ws.id, 9_000 + 2 * month)  # as the consumer does first
        buffer = EdgeBuffer(conn, ws.id, keep=20, now=9_000 + 2 * month)
        late = Change((A, A, B, B), "co_attended", 1.0, "max", 100, "co@1", (3,), None, month)
        buffer.add([late])
        buffer.flush()
    edges, adjacency = _state(container, ws.id)
    assert [r[7] for r in edges] == [100 + month] and adjacency == []  # replayed history
