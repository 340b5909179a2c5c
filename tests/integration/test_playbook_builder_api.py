"""``/api/v1/playbook-builder`` and ``/api/v1/playbooks/{id}/experiment`` through the real app:
a drawing is checked by the same validator as ``crmos playbooks validate`` (same problems, same
paths), completions come from the fields the workspace has seen, and experiment results count
conversions to the outcome event per variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crmos.bootstrap import Container
from crmos.cli.main import app
from crmos.playbooks.firing import variant_of
from tests.integration.conftest import Tenant
from tests.integration.playbook_support import example, identify, ingest, track, view

RENEWAL = example("renewal_risk.yaml")
EXPERIMENT = """
id: trial-nudge
description: Nudge trials, measured by subscriptions
trigger:
  pattern: {event: {event: Trial Started}}
approval: {policy: required_above, impact: low}
experiment:
  variants: {nudge: 50, holdout: 50}
  control: holdout
  outcome: {event: Subscribed, within: 2d}
steps:
  - {id: alert, component: sales.alert_card, with: {webhook: director}}
"""


def _model(client: TestClient, tenant: Tenant, source: str) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/playbook-builder/model", json={"source": source}, headers=tenant.bearer
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_palette_offers_every_trigger_kind_and_each_component_with_its_schema(
    client: TestClient, tenant: Tenant
) -> None:
    palette = client.get("/api/v1/playbook-builder/palette", headers=tenant.bearer).json()
    kinds = {item["kind"] for item in palette["nodes"]}
    assert {"event", "count", "absent", "sequence", "condition", "audience"} <= kinds
    assert {"all", "any", "experiment", "approval", "wait"} <= kinds
    roi = next(c for c in palette["components"] if c["component"] == "billing.roi_sheet")
    assert roi["schema"]["properties"]["months"]["maximum"] == 60
    assert roi["reads"] and roi["hosts"] == ["erp", "email"]


def test_a_drawing_is_checked_with_the_problems_and_paths_of_playbooks_validate(
    client: TestClient, tenant: Tenant, tmp_path: Path
) -> None:
    drawn = _model(client, tenant, RENEWAL)
    assert drawn["ok"] and yaml.safe_load(drawn["source"]) == yaml.safe_load(RENEWAL)
    model = drawn["model"]
    roi = next(n for n in model["nodes"] if n["params"].get("id") == "roi_sheet")
    roi["params"]["with"]["months"] = 99
    count = next(n for n in model["nodes"] if n["kind"] == "count")
    count["params"]["within"] = "3 days"
    answer = client.post("/api/v1/playbook-builder/check", json=model, headers=tenant.bearer)
    checked = answer.json()
    assert answer.status_code == 200 and not checked["ok"]
    by_path = {p["path"]: p for p in checked["problems"]}
    assert by_path["steps[0].with.months"]["node"] == roi["id"]
    assert by_path["trigger.pattern.all[0].count.within"]["node"] == count["id"]

    written = tmp_path / "drawn.yaml"
    written.write_text(checked["source"])
    cli = CliRunner().invoke(app, ["playbooks", "validate", "--json", str(written)])
    [result] = json.loads(cli.output)
    from_cli = {(p["path"], p["message"]) for p in result["problems"]}
    assert from_cli == {(p["path"], p["message"]) for p in checked["problems"]}


def test_a_drawing_with_two_loose_triggers_is_refused_naming_the_node(
    client: TestClient, tenant: Tenant
) -> None:
    model = {
        "header": {"id": "loose", "description": "two triggers"},
        "nodes": [
            {"id": "1", "kind": "event", "params": {"event": "A"}},
            {"id": "2", "kind": "event", "params": {"event": "B"}},
        ],
        "edges": [],
    }
    checked = client.post("/api/v1/playbook-builder/check", json=model, headers=tenant.bearer)
    assert checked.json()["problems"][0]["node"] == "2"


def test_completions_come_from_the_events_and_traits_the_workspace_has_seen(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    ingest(
        container,
        tenant.workspace_id,
        identify("ada", email="ada@example.com", plan={"tier": "gold"}),
        view("ada", 2),
    )
    seen = client.get("/api/v1/playbook-builder/fields", headers=tenant.bearer).json()
    assert seen["events"]["Renewal Compare"]["fields"]["properties.path"] == "string"
    assert seen["traits"]["email"] == "string"
    assert seen["traits"]["plan.tier"] == "string"


def test_experiment_results_count_conversions_to_the_outcome_per_variant(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    ws = tenant.workspace_id
    published = client.post("/api/v1/playbooks", json={"source": EXPERIMENT}, headers=tenant.bearer)
    assert published.status_code == 201, published.text
    playbook = container.playbooks.validate(EXPERIMENT)
    users = [f"trial{i}" for i in range(16)]
    converts = set(users[::2])
    messages: list[dict[str, Any]] = []
    for user in users:
        messages += [
            identify(user, 10, email=f"{user}@example.com"),
            track(user, "Trial Started", 5),
        ]
        if user in converts:
            messages.append(track(user, "Subscribed", 4))
        else:
            messages.append(track(user, "Subscribed", 6))  # before the firing: not a conversion
    ingest(container, ws, *messages)
    answer = client.get("/api/v1/playbooks/trial-nudge/experiment", headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    firings = container.playbooks.firings(ws, "trial-nudge")
    user_of = {f["profile_id"]: f["event_id"].split("-")[1] for f in firings}
    variant = {user_of[f["profile_id"]]: f["variant"] for f in firings}
    assert sorted(variant) == sorted(users)
    rows = {r["variant"]: r for r in result["variants"]}
    for name, row in rows.items():
        mine = [u for u, v in variant.items() if v == name]
        assert row["assigned"] == len(mine)
        assert row["converted"] == len(converts.intersection(mine))
        assert row["conversion"] == row["converted"] / row["assigned"]
    nudge, holdout = rows["nudge"], rows["holdout"]
    assert holdout["control"] and holdout["uplift"] is None
    assert nudge["uplift"] == nudge["conversion"] - holdout["conversion"]
    assert 0 < nudge["p_value"] <= 1 and nudge["significant"] == (nudge["p_value"] < 0.05)
    assert {variant_of(playbook, pid) for pid in user_of} == {"nudge", "holdout"}
