"""Issue 17, the marketplace: a component installed from a package enters as pending review; a
key with the compliance scope approves or rejects it with a reason (audited); only approved
components can appear in a published playbook; the review view lists the most used ones with
their permissions and last review date."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.core.errors import ValidationError
from crmos.store.tables_records import audit_log
from crmos.store.workspaces import COMPLIANCE_SCOPES
from tests.integration.conftest import Tenant
from tests.integration.market_support import hostile_site

MAP = """
id: map-widget
description: show the customer's map
trigger: {pattern: {event: {event: Map Opened}}}
steps:
  - {id: tag, component: profile.tag, with: {traits: {map_seen: true}}}
  - {id: map, component: testing.hostile, with: {attempt: none}}
"""


@pytest.fixture(scope="module")
def hostile_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with hostile_site(tmp_path_factory) as site:
        yield site


@pytest.fixture
def market(hostile_installed: Path, container: Container) -> Container:
    assert "testing.hostile" in container.playbooks.registry.names()
    return container


def _compliance_key(c: Container, workspace_id: str) -> dict[str, str]:
    issued = c.workspaces.issue_key(workspace_id, "dpo@acme", COMPLIANCE_SCOPES, "reviewer")
    return {"Authorization": f"Bearer {issued.secret}"}


def test_an_installed_component_is_pending_review_and_a_playbook_using_it_is_refused(
    market: Container, tenant: Tenant
) -> None:
    [row] = [r for r in market.playbooks.market.installed(tenant.workspace_id)
             if r["name"] == "testing.hostile"]  # fmt: skip
    assert (row["status"], row["package"], row["version"]) == ("pending review", "crmos-hostile",
                                                               "1.0.0")  # fmt: skip
    assert row["permissions"] == "reads: email; may call: maps.example.test"
    assert row["limits"] == {"timeout_s": 5.0, "cpu_s": 1.0, "memory_mb": 512}
    with pytest.raises(ValidationError) as refused:
        market.playbooks.publish(tenant.workspace_id, MAP, "revops@acme", "map")
    [problem] = refused.value.problems
    assert problem.path == "steps[1].component" and problem.reason == "not_approved"
    assert "pending review" in problem.message and "compliance" in problem.message


def test_only_a_compliance_key_reviews_and_a_reason_is_mandatory(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    url = "/api/v1/components/testing.hostile/review"
    body = {"decision": "approved", "reason": "checked the map tiles host"}
    assert client.post(url, json=body, headers=tenant.bearer).status_code == 403
    reviewer = _compliance_key(market, tenant.workspace_id)
    blank = client.post(url, json=body | {"reason": "   "}, headers=reviewer)
    assert blank.status_code == 400
    assert blank.headers["content-type"].startswith("application/problem+json")
    assert [p["path"] for p in blank.json()["problems"]] == ["reason"]
    answer = client.post(url, json=body, headers=reviewer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved" and answer.json()["reviewer"] == "dpo@acme"
    published = client.post("/api/v1/playbooks", json={"source": MAP}, headers=tenant.bearer)
    assert published.status_code == 201, published.text
    with market.engine.connect() as conn:
        [entry] = conn.execute(
            audit_log.select().where(audit_log.c.workspace_id == tenant.workspace_id,
                                     audit_log.c.action == "component.approve")
        ).all()  # fmt: skip
    assert entry.actor == "dpo@acme" and entry.subject == "testing.hostile"
    assert "checked the map tiles host" in entry.details


def test_a_rejected_component_cannot_be_published_and_the_api_says_why(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    reviewer = _compliance_key(market, tenant.workspace_id)
    body = {"decision": "rejected", "reason": "sends locations to a CDN"}
    url = "/api/v1/components/testing.hostile/review"
    assert client.post(url, json=body, headers=reviewer).status_code == 200
    refused = client.post("/api/v1/playbooks", json={"source": MAP}, headers=tenant.bearer)
    assert refused.status_code == 400
    [problem] = refused.json()["problems"]
    assert problem["path"] == "steps[1].component" and "rejected" in problem["message"]
    shown = client.get("/api/v1/components/testing.hostile", headers=tenant.bearer).json()
    assert shown["status"] == "rejected"
    assert [r["reason"] for r in shown["reviews"]] == ["sends locations to a CDN"]
    assert shown["params_schema"]["properties"]["attempt"]


def test_crmos_own_components_count_as_approved_and_are_not_reviewed(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    rows = {r["name"]: r for r in client.get("/api/v1/components", headers=tenant.bearer).json()}
    assert rows["notify.email"]["status"] == "approved" and rows["notify.email"]["builtin"]
    reviewer = _compliance_key(market, tenant.workspace_id)
    answer = client.post("/api/v1/components/notify.email/review", headers=reviewer,
                         json={"decision": "rejected", "reason": "no"})  # fmt: skip
    assert answer.status_code == 400 and answer.json()["problems"][0]["reason"] == "builtin"
    unknown = client.get("/api/v1/components/notify.emial", headers=tenant.bearer)
    assert unknown.status_code == 404 and "did you mean 'notify.email'" in unknown.json()["detail"]


def test_the_review_view_lists_the_most_used_components_with_permissions_and_review_date(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    ws = tenant.workspace_id
    market.playbooks.market.review(ws, "testing.hostile", "approved", "fine", "dpo@acme")
    market.playbooks.publish(ws, MAP, "revops@acme", "map")
    market.playbooks.publish(ws, MAP.replace("map-widget", "map-two"), "revops@acme", "again")
    rows = client.get("/api/v1/components/-/review", headers=tenant.bearer).json()
    top = rows[:2]
    assert {r["name"] for r in top} == {"testing.hostile", "profile.tag"}
    assert all(r["uses"] == 2 for r in top)
    hostile = next(r for r in top if r["name"] == "testing.hostile")
    assert hostile["permissions"] == "reads: email; may call: maps.example.test"
    assert hostile["reviewed_ms"] is not None and hostile["status"] == "approved"
    assert rows[2]["uses"] == 0


def test_a_package_component_is_described_by_a_sandbox_child_and_never_imported_here(
    market: Container,
) -> None:
    component = market.playbooks.registry.get("testing.hostile")
    assert "crmos_hostile" not in sys.modules  # its import-time code ran only in a child
    assert type(component).__name__ == "Described"
    assert component.params.model_json_schema()["properties"]["attempt"]["enum"][0] == "none"
    assert market.playbooks.registry.get("notify.email").__module__ == "crmos.playbooks.builtin"


def test_searching_without_a_configured_catalog_names_the_setting(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    answer = client.get("/api/v1/components/-/catalog", headers=tenant.bearer)
    assert answer.status_code == 404 and "CRMOS__PLAYBOOKS__CATALOG" in answer.json()["detail"]


def _offered(client: TestClient, tenant: Tenant) -> set[str]:
    palette = client.get("/api/v1/playbook-builder/palette", headers=tenant.bearer).json()
    return {c["component"] for c in palette["components"]}


def test_the_builder_palette_offers_only_the_components_approved_in_the_workspace(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    ws, reviews = tenant.workspace_id, market.playbooks.market
    assert "notify.email" in _offered(client, tenant)
    assert "testing.hostile" not in _offered(client, tenant)  # pending review
    reviews.review(ws, "testing.hostile", "approved", "tiles host checked", "dpo@acme")
    assert "testing.hostile" in _offered(client, tenant)
    reviews.review(ws, "testing.hostile", "rejected", "sends locations to a CDN", "dpo@acme")
    assert "testing.hostile" not in _offered(client, tenant)


def test_rolling_back_to_a_version_whose_component_is_no_longer_approved_is_refused(
    market: Container, tenant: Tenant, client: TestClient
) -> None:
    ws, playbooks = tenant.workspace_id, market.playbooks
    playbooks.market.review(ws, "testing.hostile", "approved", "tiles host checked", "dpo@acme")
    playbooks.publish(ws, MAP, "revops@acme", "with the map")
    without = MAP.split("  - {id: map")[0]
    second = playbooks.publish(ws, without, "revops@acme", "map taken out")
    playbooks.market.review(ws, "testing.hostile", "rejected", "sends locations", "dpo@acme")
    refused = client.post("/api/v1/playbooks/map-widget/rollback", headers=tenant.bearer)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "rollback of playbook 'map-widget'" in refused.json()["detail"]
    [problem] = refused.json()["problems"]
    assert (problem["path"], problem["reason"]) == ("steps[1].component", "not_approved")
    assert "'testing.hostile' 1.0.0 is rejected" in problem["message"]
    assert playbooks.in_force(ws, "map-widget").hash == second.hash  # nothing changed
