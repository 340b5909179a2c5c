"""The graph through the API: queries, manual edges, rule checks, health, metrics, bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crmos.bootstrap import Container
from crmos.store.tables_graph import graph_edges
from tests.conftest import METRICS_AUTH
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.graph_support import group, quiet_client, send, track


@pytest.fixture
def api(container: Container) -> TestClient:
    """The app, its stream drained by the tests only."""
    return quiet_client(container)


def _seed(container: Container, ws: str) -> None:
    send(
        container,
        ws,
        group("ann", "acme", "Acme Ltd"),
        group("bob", "globex", "Globex"),
        track("ann", "Livestream Attended", 0, occasion_id="summit"),
        track("bob", "Livestream Attended", 3, occasion_id="summit"),
        track("news", "Funding Announced", 5, account_id="acme"),
    )


def test_neighbourhood_path_and_accounts_answer_with_evidence(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    _seed(container, tenant.workspace_id)
    h = tenant.bearer
    r = api.get(
        "/api/v1/graph/nodes/account:acme/neighbourhood",
        params={"hops": 2, "edge_type": ["works_at", "potential_partner"], "node_kind": "account"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["nodes"][0]["node"] == "account:globex"
    assert body["edges"] and all("events" in e["evidence"] for e in body["edges"])
    path = api.get(
        "/api/v1/graph/path", params={"from": "account:acme", "to": "occasion:summit"}, headers=h
    ).json()
    assert path["path"][0] == "account:acme" and path["path"][-1] == "occasion:summit"
    rules = api.get("/api/v1/graph/rules", headers=h).json()["data"]
    assert {r["id"] for r in rules} >= {"co_attendance", "funding_partnership"}


def test_an_edge_to_a_node_of_another_workspace_is_refused_and_nothing_changes(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    other = make_tenant(container, "other-co")
    _seed(container, tenant.workspace_id)
    send(container, other.workspace_id, group("zed", "zeta", "Zeta"))
    with container.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(graph_edges)).scalar_one()
    zeta_people = api.get(
        "/api/v1/graph/nodes/account:zeta/neighbourhood", params={"hops": 1}, headers=other.bearer
    ).json()["nodes"]
    foreign = zeta_people[0]["node"]
    r = api.post(
        "/api/v1/graph/edges",
        json={"src": "account:acme", "type": "related", "dst": foreign, "reason": "test"},
        headers=tenant.bearer,
    )
    assert r.status_code == 400
    assert "another workspace" in r.json()["problems"][0]["message"]
    with container.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(graph_edges)).scalar_one()
    assert after == before
    ok = api.post(
        "/api/v1/graph/edges",
        json={"src": "account:acme", "type": "related", "dst": "account:globex", "reason": "CEO"},
        headers=tenant.bearer,
    )
    assert ok.status_code == 201 and ok.json()["evidence"]["notes"][0]["reason"] == "CEO"
    ends = {"src": "account:globex", "type": "related", "dst": "account:acme", "reason": "left"}
    closed = api.delete("/api/v1/graph/edges", params=ends, headers=tenant.bearer)
    assert closed.status_code == 200 and closed.json()["data"][0]["valid_to_ms"] is not None
    gone = api.get(
        "/api/v1/graph/nodes/account:acme/neighbourhood",
        params={"hops": 1, "edge_type": "related"},
        headers=tenant.bearer,
    )
    assert gone.json()["nodes"] == []
    again = api.delete("/api/v1/graph/edges", params=ends, headers=tenant.bearer)
    assert again.status_code == 404


def test_a_query_on_an_unknown_node_is_not_found(api: TestClient, tenant: Tenant) -> None:
    r = api.get("/api/v1/graph/nodes/account:nope/neighbourhood", headers=tenant.bearer)
    assert r.status_code == 404
    bad = api.get("/api/v1/graph/nodes/planet:mars/neighbourhood", headers=tenant.bearer)
    assert bad.status_code == 400


def test_a_rule_file_with_errors_lists_each_with_its_yaml_path(
    api: TestClient, tenant: Tenant
) -> None:
    text = (
        "rules:\n"
        "  - id: Bad-Id\n    kind: role\n    when: 'true'\n    params: {}\n"
        "  - id: ok_id\n    kind: co_attendance\n    when: 'event.name =='\n"
        "    params: {occasion: event.properties.x}\n"
    )
    r = api.post(
        "/api/v1/graph/rules/validate",
        content=text,
        headers=tenant.bearer | {"Content-Type": "application/yaml"},
    )
    assert r.status_code == 400, r.text
    paths = [p["path"] for p in r.json()["problems"]]
    assert "body:rules[0].id" in paths and "body:rules[1].when" in paths


def test_graph_health_reports_loss_conflict_and_inference_failure_rates(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    send(
        container,
        tenant.workspace_id,
        track("ann", "Webinar Attended", 0, occasion_id="w"),
        track("bob", "Webinar Attended", 0),  # fails the co_attendance rule: no occasion_id
    )
    r = api.get("/api/v1/health/graph", params={"window_s": 3600}, headers=tenant.bearer)
    assert r.status_code == 200
    failures = r.json()["inference_failures"]
    assert failures["failed"] == 1 and 0 < failures["rate"] < 1
    assert r.json()["event_loss"]["received"] == 2
    metrics = api.get("/metrics", headers=METRICS_AUTH).text
    assert (
        f'crmos_graph_inference_failure_rate{{window_s="3600",workspace="{tenant.workspace_id}"}}'
        in metrics
    )
