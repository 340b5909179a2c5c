"""The Segment-compatible intake through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from tests.conftest import METRICS_AUTH
from tests.integration.conftest import Tenant, make_tenant


def events_of(client: TestClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/events", params={"limit": 1000, **params}, headers=tenant.bearer)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def post(client: TestClient, tenant: Tenant, path: str, body: Any) -> Any:
    return client.post(path, content=orjson.dumps(body), headers=tenant.basic)


SINGLE = {
    "track": {"userId": "u1", "event": "Order Completed", "properties": {"total": 42}},
    "identify": {"userId": "u1", "traits": {"email": "li.wei@example.com", "plan": "pro"}},
    "page": {"anonymousId": "a1", "name": "Pricing", "properties": {"path": "/pricing"}},
    "screen": {"userId": "u1", "name": "Home"},
    "group": {"userId": "u1", "groupId": "acme-gmbh", "traits": {"name": "Acme GmbH"}},
    "alias": {"userId": "u1", "previousId": "a1"},
}


@pytest.mark.parametrize("kind", list(SINGLE))
def test_each_segment_call_is_stored_and_read_back_in_segment_shape(
    client: TestClient, tenant: Tenant, kind: str
) -> None:
    body = {**SINGLE[kind], "messageId": f"m-{kind}"}
    response = post(client, tenant, f"/v1/{kind}", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    [stored] = events_of(client, tenant, type=kind)
    assert stored["type"] == kind
    assert stored["messageId"] == f"m-{kind}"
    for field, value in SINGLE[kind].items():
        assert stored[field] == value


def test_a_retried_batch_stores_nothing_twice(client: TestClient, tenant: Tenant) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": f"E{i}", "messageId": f"m{i}"}
            for i in range(5)
        ]
    }
    assert post(client, tenant, "/v1/batch", batch).status_code == 200
    assert post(client, tenant, "/v1/batch", batch).status_code == 200
    assert [e["messageId"] for e in events_of(client, tenant, user_id="u1")] == [
        f"m{i}" for i in range(5)
    ]


def test_a_message_id_repeated_inside_one_batch_is_stored_once(
    client: TestClient, tenant: Tenant
) -> None:
    event = {"type": "track", "userId": "u1", "event": "Clicked", "messageId": "same"}
    assert post(client, tenant, "/v1/batch", {"batch": [event, event]}).status_code == 200
    assert len(events_of(client, tenant, user_id="u1")) == 1


def test_a_batch_with_one_bad_event_is_rejected_whole_naming_each_problem(
    client: TestClient, tenant: Tenant
) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "Fine", "messageId": "ok"},
            {"type": "track", "userId": "u1", "event": 7},
            {"type": "identify", "traits": {}},
            {"type": "track", "userId": "u1", "event": "X", "propertys": {}},
        ]
    }
    response = post(client, tenant, "/v1/batch", batch)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    where = {(p["index"], p["path"]) for p in problem["problems"]}
    assert where == {(1, "batch[1].event"), (2, "batch[2].userId"), (3, "batch[3].propertys")}
    unknown = next(p for p in problem["problems"] if p["index"] == 3)
    assert "did you mean 'properties'" in unknown["message"]
    assert events_of(client, tenant) == []


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{not json", "$"),
        (b"[1, 2]", "$"),
        (b'{"batch": 5}', "batch"),
    ],
)
def test_a_body_that_is_not_a_batch_object_gets_a_problem(
    client: TestClient, tenant: Tenant, body: bytes, path: str
) -> None:
    response = client.post("/v1/batch", content=body, headers=tenant.basic)
    assert response.status_code == 400
    assert response.json()["problems"][0]["path"] == path


def test_an_event_over_32_kb_is_refused_with_413(client: TestClient, tenant: Tenant) -> None:
    big = {"userId": "u1", "event": "Big", "properties": {"blob": "x" * 33_000}}
    response = post(client, tenant, "/v1/track", big)
    assert response.status_code == 413
    assert "32768" in response.json()["problems"][0]["message"]
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "ok"}, {"type": "track", **big}]}
    response = post(client, tenant, "/v1/batch", batch)
    assert response.status_code == 413
    assert response.json()["problems"][0]["path"] == "batch[1]"
    assert events_of(client, tenant) == []


def test_a_batch_over_500_kb_is_refused_with_413(client: TestClient, tenant: Tenant) -> None:
    event = {"type": "track", "userId": "u1", "event": "E", "properties": {"pad": "x" * 20_000}}
    response = post(client, tenant, "/v1/batch", {"batch": [event] * 30})
    assert response.status_code == 413
    assert events_of(client, tenant) == []


def test_the_write_key_may_come_in_the_body(client: TestClient, tenant: Tenant) -> None:
    body = {
        "writeKey": tenant.write_key,
        "batch": [{"type": "track", "userId": "u9", "event": "E"}],
    }
    assert client.post("/v1/batch", content=orjson.dumps(body)).status_code == 200
    assert len(events_of(client, tenant, user_id="u9")) == 1


def test_gzip_bodies_are_accepted(client: TestClient, tenant: Tenant) -> None:
    body = gzip.compress(orjson.dumps({"batch": [{"type": "track", "userId": "gz", "event": "E"}]}))
    headers = {**tenant.basic, "Content-Encoding": "gzip"}
    assert client.post("/v1/batch", content=body, headers=headers).status_code == 200
    assert len(events_of(client, tenant, user_id="gz")) == 1


def test_intake_without_a_key_is_401_and_with_an_unknown_key_too(client: TestClient) -> None:
    body = orjson.dumps({"userId": "u", "event": "E"})
    missing = client.post("/v1/track", content=body)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    unknown = client.post("/v1/track", content=body, headers={"Authorization": "Basic Zm9vOg=="})
    assert unknown.status_code == 401


def test_a_write_key_cannot_read_events(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/v1/events", headers={"Authorization": f"Bearer {tenant.write_key}"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_a_key_of_workspace_a_never_reads_or_writes_workspace_b(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    other = make_tenant(container, "globex")
    post(client, tenant, "/v1/track", {"userId": "shared-id", "event": "In A", "messageId": "m1"})
    post(client, other, "/v1/track", {"userId": "shared-id", "event": "In B", "messageId": "m1"})
    seen_by_a = events_of(client, tenant, user_id="shared-id")
    seen_by_b = events_of(client, other, user_id="shared-id")
    assert [e["event"] for e in seen_by_a] == ["In A"]
    assert [e["event"] for e in seen_by_b] == ["In B"]
    workspace = client.get("/api/v1/workspace", headers=other.bearer).json()
    assert workspace["id"] == other.workspace_id


def test_clock_skew_is_corrected_with_sent_at(client: TestClient, tenant: Tenant) -> None:
    # The device clock runs 1 hour behind: it stamped the event 10 s before it sent it.
    body = {
        "sentAt": "2020-01-01T11:00:10Z",
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "timestamp": "2020-01-01T11:00:00Z"}
        ],
    }
    assert post(client, tenant, "/v1/batch", body).status_code == 200
    [event] = events_of(client, tenant, user_id="u")
    assert event["originalTimestamp"] == "2020-01-01T11:00:00.000Z"
    from crmos.core.clock import parse_iso

    received, corrected = parse_iso(event["receivedAt"]), parse_iso(event["timestamp"])
    assert (received - corrected).total_seconds() == pytest.approx(10, abs=0.01)


def test_every_event_is_tagged_with_its_touchpoint(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    pos_key = container.workspaces.issue_key(tenant.workspace_id, "shop", ("write",), source="pos")
    pos = Tenant(tenant.workspace_id, pos_key.secret, tenant.admin_key)
    post(client, pos, "/v1/track", {"userId": "u", "event": "Purchase", "messageId": "a"})
    post(
        client,
        tenant,
        "/v1/track",
        {"userId": "u", "event": "Msg", "messageId": "b", "context": {"touchpoint": "wechat"}},
    )
    touchpoints = {e["messageId"]: e["touchpoint"] for e in events_of(client, tenant, user_id="u")}
    assert touchpoints == {"a": "pos", "b": "wechat"}


def test_intake_stats_count_per_source_with_reasons_and_sequence_gaps(
    client: TestClient, tenant: Tenant
) -> None:
    good = [
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "messageId": f"m{n}",
            "context": {"touchpoint": "app", "sequence": n},
        }
        for n in (1, 2, 5)
    ]
    post(client, tenant, "/v1/batch", {"batch": good})
    post(client, tenant, "/v1/batch", {"batch": good[:1]})
    post(client, tenant, "/v1/batch", {"batch": [{"type": "track", "event": "no id"}]})
    stats = client.get("/api/v1/intake/stats", headers=tenant.bearer).json()["data"]
    by_source = {s["source"]: s for s in stats}
    assert by_source["app"]["received"] == 4
    assert by_source["app"]["accepted"] == 3
    assert by_source["app"]["duplicate"] == 1
    assert by_source["app"]["sequence_gaps"] == 2  # 3 and 4 never arrived
    assert by_source["default"]["rejected_by_reason"] == {"missing_field": 1}
    metrics = client.get("/metrics", headers=METRICS_AUTH).text
    assert (
        f'outcome="accepted",reason="",source="app",workspace="{tenant.workspace_id}"}} 3.0'
        in metrics
    )
    assert 'reason="missing_field"' in metrics


def test_personal_fields_are_encrypted_at_rest_and_shredded_with_the_subject_key(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    identify = {
        "userId": "u-pii",
        "traits": {"email": "anna@example.de", "name": "Anna Schmidt"},
        "messageId": "p1",
    }
    track = {
        "userId": "u-pii",
        "event": "Ordered",
        "properties": {"phone": "+4930123456", "sku": "A1"},
        "messageId": "p2",
    }
    post(client, tenant, "/v1/identify", identify)
    post(client, tenant, "/v1/track", track)
    from sqlalchemy import select

    from crmos.store.tables import events

    with container.engine.connect() as conn:
        rows = conn.execute(select(events.c.body, events.c.pii)).all()
    raw = b"".join(r.body.encode() + (r.pii or b"") for r in rows)
    for secret in (b"anna@example.de", b"Anna Schmidt", b"+4930123456"):
        assert secret not in raw
    read = {e["messageId"]: e for e in events_of(client, tenant, user_id="u-pii")}
    assert read["p1"]["traits"]["email"] == "anna@example.de"
    assert read["p2"]["properties"] == {"phone": "+4930123456", "sku": "A1"}

    assert container.vault.destroy(tenant.workspace_id, "user:u-pii") == 1
    shredded = {e["messageId"]: e for e in events_of(client, tenant, user_id="u-pii")}
    assert shredded["p1"]["erased"] is True
    assert "traits" not in shredded["p1"]
    assert shredded["p2"]["properties"] == {"sku": "A1"}


def test_errors_of_the_management_api_are_problem_json(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/v1/events", params={"limit": 0}, headers=tenant.bearer)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["problems"][0]["path"] == "query.limit"
    assert client.get("/api/v1/nothing-here").status_code == 404


def test_the_openapi_document_lists_the_intake_and_management_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/{kind}" in paths
    assert "/api/v1/events" in paths
    assert "/api/v1/intake/stats" in paths
