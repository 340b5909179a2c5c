"""Scenario 2: a real-time audience drops a profile the moment it buys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from tests.integration.conftest import Tenant
from tests.integration.graph_support import quiet_client, send

PROMO = (
    'traits.plan == "pro" && !("Order Completed" in events && '
    'now_ms - events["Order Completed"].last_ms < 172800000)'
)


@pytest.fixture
def api(container: Container) -> TestClient:
    """The app, its stream drained by the tests only."""
    return quiet_client(container)


def _identify(user: str) -> dict[str, object]:
    return {"type": "identify", "userId": user, "traits": {"plan": "pro"}}


def _members(api: TestClient, tenant: Tenant, audience_id: str) -> list[str]:
    r = api.get(f"/api/v1/audiences/{audience_id}/members", headers=tenant.bearer)
    assert r.status_code == 200, r.text
    return [m["profile_id"] for m in r.json()["data"]]


def test_a_purchase_removes_the_profile_from_a_running_promotion_audience(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    send(container, tenant.workspace_id, _identify("kim"), _identify("lou"))
    r = api.post(
        "/api/v1/audiences",
        json={"name": "spring promo", "condition": PROMO},
        headers=tenant.bearer,
    )
    assert r.status_code == 201, r.text
    audience = r.json()
    assert audience["members"] == 2
    before = _members(api, tenant, audience["id"])
    send(
        container,
        tenant.workspace_id,
        {"type": "track", "userId": "kim", "event": "Order Completed", "properties": {"total": 9}},
    )
    after = _members(api, tenant, audience["id"])
    assert len(after) == 1 and set(after) < set(before)
    profile = api.get(
        f"/api/v1/profiles/{sorted(set(before) - set(after))[0]}", headers=tenant.bearer
    )
    assert profile.status_code == 200


def test_an_audience_with_a_broken_condition_is_refused_and_nothing_is_created(
    api: TestClient, tenant: Tenant
) -> None:
    r = api.post(
        "/api/v1/audiences",
        json={"name": "bad", "condition": "traits.plan ==="},
        headers=tenant.bearer,
    )
    assert r.status_code == 400
    assert r.json()["problems"][0]["path"] == "condition"
    assert api.get("/api/v1/audiences", headers=tenant.bearer).json()["data"] == []


def test_members_of_an_unknown_audience_is_not_found(api: TestClient, tenant: Tenant) -> None:
    r = api.get("/api/v1/audiences/aud_missing/members", headers=tenant.bearer)
    assert r.status_code == 404


def test_a_hand_picked_audience_keeps_the_people_added_to_it_whatever_they_do(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    send(container, tenant.workspace_id, _identify("kim"), _identify("lou"))
    made = api.post(
        "/api/v1/audiences",
        json={"name": "board list", "condition": "hand_picked"},
        headers=tenant.bearer,
    ).json()
    assert made["members"] == 0
    kim = api.get(
        "/api/v1/profiles", params={"identifier": "user_id:kim"}, headers=tenant.bearer
    ).json()["data"][0]["id"]
    path = f"/api/v1/audiences/{made['id']}/members"
    added = api.post(path, json={"profile_ids": [kim, "prf_nobody"]}, headers=tenant.bearer)
    assert added.status_code == 200, added.text
    assert added.json() == {"added": 1, "total": 1}
    again = api.post(path, json={"profile_ids": [kim]}, headers=tenant.bearer).json()
    assert again == {"added": 0, "total": 1}
    send(
        container,
        tenant.workspace_id,
        {"type": "track", "userId": "kim", "event": "Order Completed"},
        {"type": "identify", "userId": "kim", "traits": {"plan": "free"}},
    )
    assert _members(api, tenant, made["id"]) == [kim]
    promo = api.post(
        "/api/v1/audiences", json={"name": "promo", "condition": PROMO}, headers=tenant.bearer
    ).json()
    refused = api.post(
        f"/api/v1/audiences/{promo['id']}/members",
        json={"profile_ids": [kim]},
        headers=tenant.bearer,
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "conflict"
