"""``GET /api/v1/profiles`` (list and search) and ``/api/v1/accounts`` through HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.identity_support import identify, track


def post_events(client: TestClient, container: Container, tenant: Tenant, *events: dict) -> None:
    response = client.post("/v1/batch", json={"batch": list(events)}, headers=tenant.basic)
    assert response.status_code == 200, response.text
    container.stream.run_once()


def listing(client: TestClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/profiles", params=params, headers=tenant.bearer)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> set[str]:
    return {p["name"] for p in body["data"]}


def _world(client: TestClient, container: Container, tenant: Tenant) -> None:
    post_events(
        client,
        container,
        tenant,
        identify("app", "u-1", name="Alice Smith", email="alice@example.com",
                 company={"id": "acme", "name": "Acme Robotics"}),
        identify("crm", "u-2", name="李娜", phone="+86 139 1234 5678",
                 company={"id": "acme", "name": "Acme Robotics"}),
        identify("crm", "u-3", name="Bob Stone", email="bob@beta.io"),
        track("web", "u-3"),
    )  # fmt: skip


def test_profiles_are_listed_searched_filtered_and_paged(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    assert names(listing(client, tenant)) == {"Alice Smith", "李娜", "Bob Stone"}
    assert names(listing(client, tenant, q="ali")) == {"Alice Smith"}
    assert names(listing(client, tenant, q="李")) == {"李娜"}
    assert names(listing(client, tenant, q="acme")) == {"Alice Smith", "李娜"}
    assert names(listing(client, tenant, q="13912345678")) == {"李娜"}
    assert names(listing(client, tenant, touchpoint="web")) == {"Bob Stone"}
    assert names(listing(client, tenant, marketing_suppressed="false")) == {
        "Alice Smith",
        "李娜",
        "Bob Stone",
    }
    assert listing(client, tenant, open_review="true")["data"] == []
    assert listing(client, tenant, last_seen_after="2999-01-01T00:00:00Z")["data"] == []
    first = listing(client, tenant, limit=2, sort="created")
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = listing(client, tenant, limit=2, sort="created", cursor=first["next_cursor"])
    assert rest["next_cursor"] is None
    assert names(first) | names(rest) == {"Alice Smith", "李娜", "Bob Stone"}


def test_the_identifier_lookup_keeps_its_answer(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    found = listing(client, tenant, identifier="email:ALICE@example.com")
    assert found["identifier"] == "email:alice@example.com"
    assert found["data"][0]["traits"]["name"] == "Alice Smith"


def test_bad_parameters_are_problem_json_and_declared(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    for params in (
        {"limit": 0},
        {"limit": 201},
        {"sort": "name"},
        {"cursor": "not a cursor!"},
        {"cursor": "bm9wZQ"},
        {"consent": "marketing"},
    ):
        response = client.get("/api/v1/profiles", params=params, headers=tenant.bearer)
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"] == "application/problem+json", params
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/profiles"]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200 and limit["schema"]["minimum"] == 1
    assert "application/problem+json" in operation["responses"]["400"]["content"]


def test_another_workspace_sees_none_of_the_profiles(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    other = make_tenant(container, "other")
    assert listing(client, other)["data"] == []
    assert listing(client, other, q="alice")["data"] == []
    response = client.get("/api/v1/accounts/acme", headers=other.bearer)
    assert response.status_code == 404


def test_accounts_are_listed_searched_and_shown_with_their_people(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    body = client.get("/api/v1/accounts", params={"q": "robot"}, headers=tenant.bearer).json()
    (acme,) = body["data"]
    assert acme["id"] == "account:acme" and acme["name"] == "Acme Robotics"
    assert acme["people"] == 2 and body["next_cursor"] is None
    shown = client.get("/api/v1/accounts/acme", headers=tenant.bearer).json()
    assert {p["profile"]["name"] for p in shown["people_list"]} == {"Alice Smith", "李娜"}
    first = client.get("/api/v1/accounts", params={"limit": 1}, headers=tenant.bearer).json()
    assert len(first["data"]) == 1
