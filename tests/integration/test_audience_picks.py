"""A hand-picked audience follows identity: a merged-away member is replaced by the surviving
profile, and a split gives the audience back the profile that was picked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.graph import follow_identity
from tests.integration.conftest import Tenant
from tests.integration.graph_support import quiet_client, send


def _profile(api: TestClient, tenant: Tenant, user: str) -> str:
    found = api.get(
        "/api/v1/profiles", params={"identifier": f"user_id:{user}"}, headers=tenant.bearer
    )
    assert found.status_code == 200, found.text
    return str(found.json()["data"][0]["id"])


def _members(api: TestClient, tenant: Tenant, audience_id: str) -> set[str]:
    r = api.get(f"/api/v1/audiences/{audience_id}/members", headers=tenant.bearer)
    assert r.status_code == 200, r.text
    return {m["profile_id"] for m in r.json()["data"]}


def _follow(container: Container, tenant: Tenant) -> None:
    with container.engine.begin() as conn:
        follow_identity(conn, tenant.workspace_id)


def _picked(api: TestClient, tenant: Tenant, *profile_ids: str) -> str:
    made = api.post(
        "/api/v1/audiences",
        json={"name": "trade fair guests", "condition": "hand_picked"},
        headers=tenant.bearer,
    )
    assert made.status_code == 201, made.text
    audience_id = str(made.json()["id"])
    added = api.post(
        f"/api/v1/audiences/{audience_id}/members",
        json={"profile_ids": list(profile_ids)},
        headers=tenant.bearer,
    )
    assert added.status_code in (200, 201), added.text
    return audience_id


def _merge(api: TestClient, tenant: Tenant, survivor: str, other: str) -> None:
    body = {"survivor_id": survivor, "other_id": other, "reason": "same buyer"}
    merged = api.post("/api/v1/profiles/merge", json=body, headers=tenant.bearer)
    assert merged.status_code == 200, merged.text


def _split(api: TestClient, tenant: Tenant, other: str) -> None:
    split = api.post(
        f"/api/v1/profiles/{other}/split", json={"reason": "two people"}, headers=tenant.bearer
    )
    assert split.status_code == 200, split.text


def test_a_merged_member_is_replaced_by_the_survivor_and_comes_back_on_a_split(
    container: Container, tenant: Tenant
) -> None:
    api = quiet_client(container)
    send(container, tenant.workspace_id, *({"type": "identify", "userId": u} for u in "abc"))
    a, b, c = (_profile(api, tenant, u) for u in "abc")
    audience = _picked(api, tenant, b, c)
    assert _members(api, tenant, audience) == {b, c}

    _merge(api, tenant, a, b)  # b, who was picked, merges into a, who was not
    _follow(container, tenant)
    assert _members(api, tenant, audience) == {a, c}

    _split(api, tenant, b)  # b comes back: the audience holds b again, and a leaves
    _follow(container, tenant)
    assert _members(api, tenant, audience) == {b, c}


def test_a_survivor_that_was_picked_itself_stays_after_the_split(
    container: Container, tenant: Tenant
) -> None:
    api = quiet_client(container)
    send(container, tenant.workspace_id, *({"type": "identify", "userId": u} for u in "ab"))
    a, b = (_profile(api, tenant, u) for u in "ab")
    audience = _picked(api, tenant, a, b)
    _merge(api, tenant, a, b)
    _follow(container, tenant)
    assert _members(api, tenant, audience) == {a}
    _split(api, tenant, b)
    _follow(container, tenant)
    assert _members(api, tenant, audience) == {a, b}


def test_an_audience_defined_by_a_condition_is_left_to_its_condition(
    container: Container, tenant: Tenant
) -> None:
    api = quiet_client(container)
    send(
        container,
        tenant.workspace_id,
        *({"type": "identify", "userId": u, "traits": {"plan": "pro"}} for u in "ab"),
    )
    a, b = (_profile(api, tenant, u) for u in "ab")
    made = api.post(
        "/api/v1/audiences",
        json={"name": "pro", "condition": 'traits.plan == "pro"'},
        headers=tenant.bearer,
    )
    audience = made.json()["id"]
    assert _members(api, tenant, audience) == {a, b}
    _merge(api, tenant, a, b)
    _follow(container, tenant)
    assert _members(api, tenant, audience) == {a}
