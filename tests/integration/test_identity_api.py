"""The identity API: profiles, merge and split, the review queue, settings, tenant isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.identity_support import identify, send


def post_events(client: TestClient, container: Container, tenant: Tenant, *events: dict) -> None:
    response = client.post("/v1/batch", json={"batch": list(events)}, headers=tenant.basic)
    assert response.status_code == 200, response.text
    container.stream.run_once()


def find(client: TestClient, tenant: Tenant, identifier: str) -> dict:
    response = client.get(
        "/api/v1/profiles", params={"identifier": identifier}, headers=tenant.bearer
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_profile_is_found_by_a_normalised_identifier_and_shown_whole(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    post_events(
        client,
        container,
        tenant,
        identify("web", anon="c-1", email="Alice@Example.com", name="Alice"),
    )
    found = find(client, tenant, "email:ALICE@example.COM")
    assert found["identifier"] == "email:alice@example.com"
    (profile,) = found["data"]
    assert profile["traits"] == {"email": "Alice@Example.com", "name": "Alice"}
    assert {i["type"] for i in profile["identifiers"]} == {"anonymous_id", "email"}
    shown = client.get(f"/api/v1/profiles/{profile['id']}", headers=tenant.bearer).json()
    assert shown["flags"] == {"marketing_suppressed": False, "open_reviews": []}
    assert find(client, tenant, "email:nobody@example.com")["data"] == []


def test_malformed_identifiers_and_unknown_types_are_clear_400s(
    client: TestClient, tenant: Tenant
) -> None:
    for query, needle in (
        ("email:not-an-address", "not an e-mail address"),
        ("fax:123", "valid: anonymous_id, device_id, email"),
        ("alice@example.com", "TYPE:VALUE"),
    ):
        response = client.get(
            "/api/v1/profiles", params={"identifier": query}, headers=tenant.bearer
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert needle in response.text


def test_merge_and_split_through_the_api_and_nothing_leaks_across_workspaces(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    post_events(
        client, container, tenant, identify("app", user_id="u-1"), identify("web", anon="c-1")
    )
    one = find(client, tenant, "user_id:u-1")["data"][0]["id"]
    two = find(client, tenant, "anonymous_id:c-1")["data"][0]["id"]
    other = make_tenant(container, "globex")
    send(container, other.workspace_id, identify("app", user_id="u-1"))
    theirs = find(client, other, "user_id:u-1")["data"][0]["id"]
    assert client.get(f"/api/v1/profiles/{theirs}", headers=tenant.bearer).status_code == 404
    body = {"survivor_id": one, "other_id": theirs, "reason": "x"}
    assert (
        client.post("/api/v1/profiles/merge", json=body, headers=tenant.bearer).status_code == 404
    )
    body = {"survivor_id": one, "other_id": two, "reason": "support call confirmed it"}
    write_only = client.post("/api/v1/profiles/merge", json=body, headers=tenant.basic)
    assert write_only.status_code in (401, 403)
    merged = client.post("/api/v1/profiles/merge", json=body, headers=tenant.bearer)
    assert merged.status_code == 200, merged.text
    assert merged.json()["profile"]["merged_ids"] == [two]
    never = client.post(
        f"/api/v1/profiles/{theirs}/split", json={"reason": "x"}, headers=other.bearer
    )
    assert never.status_code == 400 and "was never merged" in never.json()["detail"]
    split = client.post(
        f"/api/v1/profiles/{two}/split", json={"reason": "wrong"}, headers=tenant.bearer
    )
    assert split.status_code == 200, split.text
    assert split.json()["split"]["restored_id"] == two
    assert find(client, tenant, "anonymous_id:c-1")["data"][0]["id"] == two


def test_the_review_queue_shows_conflict_tickets_and_resolving_one_lifts_the_pause(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    phone = "+49 151 23456789"
    events = [
        identify(source, user_id=f"p{n}", phone=phone, company={"id": f"firm-{n}"})
        for n, source in enumerate(("call_centre", "app", "pos"))
    ]
    post_events(client, container, tenant, *events)
    queue = client.get(
        "/api/v1/identity/review", params={"kind": "conflict"}, headers=tenant.bearer
    )
    (ticket,) = queue.json()["data"]
    assert ticket["identifier"] == "phone:+4915123456789" and ticket["status"] == "open"
    subject = ticket["subject_profiles"][0]
    shown = client.get(f"/api/v1/profiles/{subject}", headers=tenant.bearer).json()
    assert shown["flags"] == {"marketing_suppressed": True, "open_reviews": [ticket["id"]]}
    url = f"/api/v1/identity/review/{ticket['id']}/resolve"
    wrong = client.post(url, json={"decision": "approve"}, headers=tenant.bearer)
    assert wrong.status_code == 400 and "valid: resolve" in wrong.text
    done = client.post(
        url, json={"decision": "resolve", "note": "switchboard"}, headers=tenant.bearer
    )
    assert done.json()["status"] == "resolved"
    shown = client.get(f"/api/v1/profiles/{subject}", headers=tenant.bearer).json()
    assert shown["flags"]["marketing_suppressed"] is False
    assert client.get("/api/v1/identity/review", headers=tenant.bearer).json()["data"] == []
    everything = client.get("/api/v1/identity/review?status=all", headers=tenant.bearer).json()
    assert [t["status"] for t in everything["data"]] == ["resolved"]
    conflicts = client.get(
        "/api/v1/identity/conflicts", params={"identifier": f"phone:{phone}"}, headers=tenant.bearer
    ).json()["data"]
    assert {c["kind"] for c in conflicts} == {"account"} and len(conflicts) == 2


def test_identity_settings_are_changed_per_workspace_and_bad_ones_are_refused(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    bad = client.patch(
        "/api/v1/identity/config",
        json={"default_region": "XX", "limits": {"fax": 2}, "colour": "red"},
        headers=tenant.bearer,
    )
    assert bad.status_code == 400
    paths = {p["path"] for p in bad.json()["problems"]}
    assert paths == {"identity.colour"}
    bad = client.patch(
        "/api/v1/identity/config", json={"limits": {"fax": 2}}, headers=tenant.bearer
    )
    assert "unknown identifier type 'fax'" in bad.text
    good = client.patch(
        "/api/v1/identity/config", json={"default_region": "DE"}, headers=tenant.bearer
    )
    assert good.status_code == 200 and good.json()["override"] == {"default_region": "DE"}
    post_events(
        client, container, tenant, identify("call_centre", anon="c-9", phone="0151 23456789")
    )
    assert find(client, tenant, "phone:+4915123456789")["data"]
    other = make_tenant(container, "globex")
    shown = client.get("/api/v1/identity/config", headers=other.bearer).json()
    assert shown["override"] == {} and shown["effective"]["default_region"] == ""
    rejected = client.get("/api/v1/identity/rejections", headers=tenant.bearer).json()["data"]
    assert rejected == []
