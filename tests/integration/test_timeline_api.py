"""``GET /api/v1/profiles/{id}/timeline``: one paged timeline across the rooms, on both stores."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.identity_support import identify, track

T0 = "2026-03-01T10:00:00.000Z"


def _at(minute: int, second: int = 0) -> str:
    return f"2026-03-01T10:{minute:02d}:{second:02d}.000Z"


def post(client: TestClient, container: Container, tenant: Tenant, *events: dict) -> None:
    answer = client.post("/v1/batch", json={"batch": list(events)}, headers=tenant.basic)
    assert answer.status_code == 200, answer.text
    container.stream.run_once()


def timeline(client: TestClient, tenant: Tenant, pid: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/api/v1/profiles/{pid}/timeline", params=params, headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def walk(client: TestClient, tenant: Tenant, pid: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry, page by page through the cursors."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = timeline(client, tenant, pid, **params, **({"cursor": cursor} if cursor else {}))
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def profile_of(client: TestClient, tenant: Tenant, user_id: str) -> str:
    found = client.get(
        "/api/v1/profiles", params={"identifier": f"user_id:{user_id}"}, headers=tenant.bearer
    ).json()["data"]
    return str(found[0]["id"])


def _world(client: TestClient, container: Container, tenant: Tenant) -> str:
    """u-1 with 30 events: 12 of them in the same millisecond, through three touchpoints."""
    events = [
        identify("app", "u-1", name="Alice Smith", email="alice@example.com") | {"timestamp": T0}
    ]
    events += [track("web", "u-1") | {"timestamp": _at(1)} for _ in range(12)]
    events += [track("shop", "u-1") | {"timestamp": _at(2, s)} for s in range(10)]
    events += [track("app", "u-1") | {"timestamp": _at(3, s)} for s in range(7)]
    post(client, container, tenant, *events)  # fmt: skip
    return profile_of(client, tenant, "u-1")


def test_every_entry_is_paged_through_exactly_once_newest_first_even_within_one_millisecond(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    pid = _world(client, container, tenant)
    seen = walk(client, tenant, pid, limit=5, kind="event")
    assert len(seen) == 30
    assert len({e["id"] for e in seen}) == 30
    times = [e["at_ms"] for e in seen]
    assert times == sorted(times, reverse=True)
    assert seen[-1]["title"] == "identify" and seen[-1]["touchpoint"] == "app"
    assert {e["title"] for e in seen[:-1]} == {"Viewed"}


def test_the_timeline_is_filtered_by_kind_touchpoint_and_dates(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    pid = _world(client, container, tenant)
    shop = walk(client, tenant, pid, touchpoint="shop", limit=4)
    assert len(shop) == 10 and {e["touchpoint"] for e in shop} == {"shop"}
    window = walk(client, tenant, pid, since=_at(2), until=_at(3), limit=3)
    assert len(window) == 10 and {e["touchpoint"] for e in window} == {"shop"}
    assert timeline(client, tenant, pid, kind="dsr")["data"] == []


def test_merges_splits_and_requests_join_the_events_of_the_surviving_profile(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    pid = _world(client, container, tenant)
    post(client, container, tenant, identify("crm", "u-2", name="A. Smith"))
    other = profile_of(client, tenant, "u-2")
    merged = client.post(
        "/api/v1/profiles/merge",
        json={"survivor_id": pid, "other_id": other, "reason": "same desk"},
        headers=tenant.bearer,
    )
    assert merged.status_code == 200, merged.text
    made = client.post(
        "/api/v1/dsr",
        json={"kind": "access", "identifier": {"type": "user_id", "value": "u-1"}},
        headers=tenant.bearer,
    )
    assert made.status_code == 201, made.text
    through_other = timeline(client, tenant, other, limit=200)
    assert through_other["profile_id"] == pid and through_other["requested_id"] == other
    kinds = {e["kind"] for e in through_other["data"]}
    assert {"event", "merge", "dsr", "decision"} <= kinds
    assert any(e["touchpoint"] == "crm" for e in through_other["data"])
    decision = next(e for e in through_other["data"] if e["kind"] == "decision")
    assert decision["links"]["decision_id"] == decision["id"]
    split = client.post(
        f"/api/v1/profiles/{other}/split", json={"reason": "two people"}, headers=tenant.bearer
    )
    assert split.status_code == 200, split.text
    merges = timeline(client, tenant, pid, kind="merge")["data"]
    assert [m["detail"] for m in merges] == ["split", "merge"]
    assert merges[0]["title"] == "two people"


def test_bad_parameters_are_problem_json_and_other_workspaces_see_nothing(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    pid = _world(client, container, tenant)
    path = f"/api/v1/profiles/{pid}/timeline"
    for params in ({"cursor": "not-a-cursor"}, {"kind": "gossip"}, {"since": "0"}):
        answer = client.get(path, params=params, headers=tenant.bearer)
        assert answer.status_code == 400, params
        assert answer.headers["content-type"] == "application/problem+json"
    other = make_tenant(container, "globex")
    assert client.get(path, headers=other.bearer).status_code == 404
    assert client.get(
        "/api/v1/profiles/prf_nobody/timeline", headers=tenant.bearer
    ).status_code == (404)
