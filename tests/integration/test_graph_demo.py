"""The shipped graph rules on the demo world: scenarios 4 and 5 come out of its raw events."""

from __future__ import annotations

import orjson
from sqlalchemy import text

from crmos.bootstrap import Container
from crmos.demo import generate


def test_the_demo_world_yields_the_partnership_edge_and_the_technical_decision_maker(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("demo")
    world = generate(seed=7, people=30)
    lines = [orjson.dumps(event) for event in world.events]
    list(container.ingest().ingest_lines(ws.id, "demo", lines))
    container.stream.run_once()
    with container.engine.connect() as conn:
        edges = dict(
            conn.execute(text("SELECT type, COUNT(*) FROM graph_edges GROUP BY type")).all()
        )
        score = conn.execute(
            text("SELECT MAX(value) FROM graph_scores WHERE name = 'technical_decision_maker'")
        ).scalar_one()
        failures = conn.execute(text("SELECT COUNT(*) FROM stream_failures")).scalar_one()
    assert edges.get("potential_partner", 0) >= 1
    assert edges.get("co_attended", 0) >= 1
    assert score is not None and score >= 0.37
    assert failures == 0
