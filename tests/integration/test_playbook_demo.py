"""The shipped example playbooks on the demo world: scenarios 1 and 9 fire from its raw events."""

from __future__ import annotations

from collections import Counter

import orjson

from crmos.bootstrap import Container
from crmos.demo import generate


def test_the_demo_world_fires_the_shipped_renewal_risk_and_insurance_playbooks(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("demo")
    published = container.playbooks.publish_examples(ws.id, "crmos demo")
    assert sorted(published) == ["insurance-renewal", "renewal-risk"]
    assert container.playbooks.publish_examples(ws.id, "crmos demo") == []  # a re-run
    world = generate(seed=7, people=30)
    lines = [orjson.dumps(event) for event in world.events]
    list(container.ingest().ingest_lines(ws.id, "demo", lines))
    container.stream.run_once()
    firings = container.playbooks.firings(ws.id)
    by_playbook = Counter(f["playbook_id"] for f in firings)
    assert by_playbook == {"renewal-risk": 1, "insurance-renewal": 3}
    insurance = [f for f in firings if f["playbook_id"] == "insurance-renewal"]
    assert {f["status"] for f in insurance} <= {"started", "held_out"}
    [renewal] = [f for f in firings if f["playbook_id"] == "renewal-risk"]
    assert renewal["status"] == "started" and renewal["run_id"]
