"""``/api/v1/playbooks`` through the real app: validation problems, versions, tenancy."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.playbook_support import example

RENEWAL = example("renewal_risk.yaml")


def test_a_bad_playbook_is_refused_with_every_problem_and_its_path(
    client: TestClient, tenant: Tenant
) -> None:
    bad = RENEWAL.replace("billing.roi_sheet", "billing.roi_shet").replace(
        "at_least: 3", "at_leest: 3"
    )
    answer = client.post("/api/v1/playbooks/validate", json={"source": bad}, headers=tenant.bearer)
    assert answer.status_code == 400
    problems = {p["path"]: p["message"] for p in answer.json()["problems"]}
    assert "did you mean 'billing.roi_sheet'?" in problems["steps[0].component"]
    assert "did you mean 'at_least'?" in problems["trigger.pattern.all[0].count.at_leest"]


def test_versions_are_published_shown_at_a_moment_and_rolled_back(
    client: TestClient, tenant: Tenant
) -> None:
    first = client.post(
        "/api/v1/playbooks", json={"source": RENEWAL, "comment": "v1"}, headers=tenant.bearer
    )
    assert first.status_code == 201
    v1 = first.json()
    changed = RENEWAL.replace("within: 3d\n      - absent", "within: 2d\n      - absent")
    v2 = client.post("/api/v1/playbooks", json={"source": changed}, headers=tenant.bearer).json()
    shown = client.get("/api/v1/playbooks/renewal-risk", headers=tenant.bearer).json()
    assert shown["hash"] == v2["hash"] and shown["source"] == changed
    diff = client.get(
        "/api/v1/playbooks/-/diff",
        params={"older": v1["hash"], "newer": v2["hash"]},
        headers=tenant.bearer,
    ).json()["diff"]
    assert "+          within: 2d" in diff
    back = client.post("/api/v1/playbooks/renewal-risk/rollback", headers=tenant.bearer).json()
    assert back["hash"] == v1["hash"]
    before = client.get(
        "/api/v1/playbooks/renewal-risk", params={"at": "2020-01-01T00:00Z"}, headers=tenant.bearer
    )
    assert before.status_code == 404


def test_a_workspace_never_sees_another_workspaces_playbooks(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    client.post("/api/v1/playbooks", json={"source": RENEWAL}, headers=tenant.bearer)
    other = make_tenant(container, "globex")
    assert client.get("/api/v1/playbooks", headers=other.bearer).json() == []
    assert client.get("/api/v1/playbooks/renewal-risk", headers=other.bearer).status_code == 404
    assert len(client.get("/api/v1/playbooks", headers=tenant.bearer).json()) == 1


def test_components_and_the_schema_are_published(client: TestClient, tenant: Tenant) -> None:
    names = {
        c["name"] for c in client.get("/api/v1/playbooks/components", headers=tenant.bearer).json()
    }
    assert {"billing.roi_sheet", "compliance.script_check", "service.ticket"} <= names
    schema = client.get("/api/v1/playbooks/schema").json()
    assert schema["title"] == "PlaybookSpec" and "steps" in schema["required"]
