"""``GET /api/v1/profiles`` (list and search) and ``/api/v1/accounts`` through HTTP."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crmos.analytics.repo import replace_values
from crmos.bootstrap import Container
from crmos.compliance import record_consent
from crmos.graph import create_audience
from crmos.graph.rulebook import Role
from crmos.graph.scores import reinforce
from crmos.identity import has_pending
from crmos.store.tables_identity import profile_search_rows
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.identity_support import identify, track
from tests.polling import wait_until


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


def test_audience_role_and_consent_filters_come_from_their_rooms(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    ws = tenant.workspace_id
    ids = {p["name"]: p["id"] for p in listing(client, tenant)["data"]}
    role = Role.model_validate(
        {"role": "technical_decision_maker", "step": 0.7, "half_life_days": 30}
        | {"dwell": {"when": "true", "seconds": "1", "over": 1}}
        | {"repeat": {"when": "true", "at_least": 1}}
    )
    with container.engine.begin() as conn:
        create_audience(conn, ws, "stones", 'traits.name == "Bob Stone"', "test")
        reinforce(conn, ws, ids["李娜"], role, int(time.time() * 1000), "tdm@1", {})
        record_consent(conn, ws, ids["Alice Smith"], "marketing", "email", "granted", "form")
        record_consent(conn, ws, ids["Bob Stone"], "marketing", "*", "granted", "form")
        record_consent(conn, ws, ids["Bob Stone"], "marketing", "email", "withdrawn", "call")
    audiences = client.get("/api/v1/audiences", headers=tenant.bearer).json()["data"]
    (stones,) = [a["id"] for a in audiences]
    assert names(listing(client, tenant, audience=stones)) == {"Bob Stone"}
    assert names(listing(client, tenant, role="technical_decision_maker")) == {"李娜"}
    assert listing(client, tenant, role="technical_decision_maker", min_score=0.9)["data"] == []
    granted = listing(client, tenant, consent="marketing:email:granted")
    assert names(granted) == {"Alice Smith"}
    withdrawn = listing(client, tenant, consent="marketing:email:withdrawn", q="bob")
    assert names(withdrawn) == {"Bob Stone"}
    response = client.get(
        "/api/v1/profiles", params={"audience": "aud_nope"}, headers=tenant.bearer
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_serving_process_indexes_new_profiles_without_waiting_for_a_listing(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)  # the client started the workers, the indexer with them

    def indexed() -> bool:
        with container.engine.connect() as conn:
            return not has_pending(conn, tenant.workspace_id)

    wait_until(indexed, what="the background indexer to drain the pending profiles")
    with container.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(profile_search_rows)).scalar_one()
    assert rows == 3


def _values(container: Container, tenant: Tenant, ids: dict[str, str]) -> None:
    """Alice and Bob scored by the analytics room (as its refresh stores them); 李娜 not yet."""
    scored = [
        {"profile_id": ids["Alice Smith"], "scored_ms": 1, "clv": 500.0, "churn": 0.1},
        {"profile_id": ids["Bob Stone"], "scored_ms": 1, "clv": 50.0, "churn": 0.8},
    ]
    with container.engine.begin() as conn:
        replace_values(conn, tenant.workspace_id, scored)


def test_profiles_sort_by_predicted_value_and_filter_by_value_and_churn_risk(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    ids = {p["name"]: p["id"] for p in listing(client, tenant)["data"]}
    _values(container, tenant, ids)

    def order(**params: Any) -> list[str]:
        return [p["name"] for p in listing(client, tenant, **params)["data"]]

    assert order(sort="-clv") == ["Alice Smith", "Bob Stone", "李娜"]
    assert order(sort="clv") == ["Bob Stone", "Alice Smith", "李娜"]  # no value yet: last
    top = listing(client, tenant, sort="-clv")["data"][0]
    assert (top["clv"], top["churn"]) == (500.0, 0.1)
    for limit in (1, 2):  # pages cross from the ranked profiles to the unvalued ones
        seen, cursor = [], None
        while True:
            page = listing(
                client, tenant, sort="-clv", limit=limit, **({"cursor": cursor} if cursor else {})
            )
            seen += [p["name"] for p in page["data"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == ["Alice Smith", "Bob Stone", "李娜"], limit
    assert order(clv_min=100) == ["Alice Smith"]
    assert order(clv_max=100, sort="-clv") == ["Bob Stone"]
    assert order(churn_min=0.5) == ["Bob Stone"]
    assert order(q="李", sort="-clv") == ["李娜"]  # found among the unvalued by key
    assert order(q="bob", sort="clv") == ["Bob Stone"]
    assert order(sort="clv", clv_min=10) == ["Bob Stone", "Alice Smith"]  # ranked among few
    assert order(sort="-clv", churn_max=0.5) == ["Alice Smith"]


def test_bad_value_filters_are_problem_json_naming_the_parameter_and_declared(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _world(client, container, tenant)
    cursor = listing(client, tenant, limit=1)["next_cursor"]
    for params, name in (
        ({"clv_min": "-1"}, "clv_min"),
        ({"clv_max": "lots"}, "clv_max"),
        ({"churn_min": "1.5"}, "churn_min"),
        ({"clv_min": "10", "clv_max": "5"}, "clv_min"),
        ({"churn_min": "0.9", "churn_max": "0.2"}, "churn_min"),
        ({"sort": "-clv", "cursor": cursor}, "cursor"),
    ):
        response = client.get("/api/v1/profiles", params=params, headers=tenant.bearer)
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"] == "application/problem+json", params
        assert name in response.text, (params, response.text)
    spec = client.get("/openapi.json").json()
    declared = {p["name"]: p for p in spec["paths"]["/api/v1/profiles"]["get"]["parameters"]}
    assert {"clv_min", "clv_max", "churn_min", "churn_max"} <= set(declared)
    assert {"-clv", "clv"} <= set(declared["sort"]["schema"]["enum"])
