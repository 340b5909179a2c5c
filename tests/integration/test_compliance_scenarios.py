"""Scenarios 10, 11 and 12 through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.compliance.counterpart import ErasureCounterpart
from tests.integration.conftest import Tenant
from tests.polling import wait_until

BERLIN = ZoneInfo("Europe/Berlin")
BERLIN_TEAM = {"timezone": "Europe/Berlin", "country": "DE", "subdivision": "BE"}


def configure(client: TestClient, tenant: Tenant, **settings: Any) -> None:
    body = {"packs": ["gdpr", "dsa"], "teams": {"default": BERLIN_TEAM}, **settings}
    response = client.put("/api/v1/compliance/settings", json=body, headers=tenant.bearer)
    assert response.status_code == 200, response.text


def send(client: TestClient, tenant: Tenant, batch: list[dict[str, Any]]) -> Any:
    return client.post("/v1/batch", content=orjson.dumps({"batch": batch}), headers=tenant.basic)


def test_scenario_10_a_german_complaint_asking_for_deletion_erases_the_person_everywhere(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    with ErasureCounterpart("erp") as erp, ErasureCounterpart("newsletter") as news:
        erp.hold("hans.mueller@example.de", 2)
        news.hold("hans.mueller@example.de", 1)
        downstream = [{"name": s.name, "kind": "webhook", "url": s.url} for s in (erp, news)]
        configure(client, tenant, downstream=downstream)
        traits = {"email": "hans.mueller@example.de", "name": "Hans Müller", "country": "DE"}
        complaint = (
            "Ich widerspreche der Werbung. Bitte löschen Sie alle meine Daten (Art. 17 DSGVO)."
        )
        assert (
            send(
                client,
                tenant,
                [
                    {"type": "identify", "userId": "hans-42", "traits": traits, "messageId": "m1"},
                    {
                        "type": "track",
                        "userId": "hans-42",
                        "event": "Order Completed",
                        "messageId": "m2",
                        "properties": {"total": 99.5, "email": "hans.mueller@example.de"},
                    },
                    {
                        "type": "track",
                        "userId": "hans-42",
                        "event": "Complaint Submitted",
                        "messageId": "m3",
                        "properties": {"text": complaint, "channel": "email"},
                    },
                ],
            ).status_code
            == 200
        )

        def completed() -> list[dict[str, Any]]:
            found = client.get("/api/v1/dsr", params={"status": "completed"}, headers=tenant.bearer)
            return list(found.json()["data"])

        [request] = wait_until(completed, what="the erasure request")
    assert request["kind"] == "erasure" and request["origin"] == "event:m3"
    assert request["packs"] == {"gdpr": "2026.1"} and request["regions"] == ["DE"]
    report = request["report"]
    assert {s["target"]: s["status"] for s in report["systems"]} == {
        "erp": "confirmed",
        "newsletter": "confirmed",
    }
    assert report["verification"]["readable_copies"] == 0
    assert erp.records == {} and news.records == {}
    german = client.get(
        f"/api/v1/dsr/{request['id']}/letter?locale=de&format=text", headers=tenant.bearer
    )
    english = client.get(f"/api/v1/dsr/{request['id']}/letter?locale=en", headers=tenant.bearer)
    assert "Bestätigung der Löschung" in german.text and "Datenschutzteam" in german.text
    assert "Confirmation of erasure" in english.text and 'lang="en"' in english.text
    events = client.get("/api/v1/events", params={"user_id": "hans-42"}, headers=tenant.bearer)
    assert events.json()["data"] == []
    audit = client.get("/api/v1/audit/verify", headers=tenant.bearer).json()
    assert audit == {"intact": True, "breaks": []}
    from crmos.store import decisions_of

    with container.engine.connect() as conn:
        kinds = {d.kind for d in decisions_of(conn, tenant.workspace_id, request["profile_id"])}
    assert {"compliance.erasure_requested", "compliance.dsr.erasure"} <= kinds


def test_scenario_11_an_invalid_cpf_is_refused_at_intake_and_nothing_is_stored(
    client: TestClient, tenant: Tenant
) -> None:
    configure(client, tenant, validators={"cpf": "br.cpf", "cnpj": "br.cnpj"})
    good = {
        "type": "track",
        "userId": "b1",
        "event": "Invoice Created",
        "messageId": "ok",
        "properties": {"cpf": "390.533.447-05", "cnpj": "11.222.333/0001-81"},
    }
    bad = {
        "type": "identify",
        "userId": "b2",
        "messageId": "bad",
        "traits": {"cpf": "123.456.789-00"},
    }
    response = send(client, tenant, [good, good | {"messageId": "ok2"}, bad])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    [problem] = body["problems"]
    assert problem["path"] == "batch[2].traits.cpf" and problem["index"] == 2
    assert problem["reason"] == "invalid_checksum" and "CPF" in problem["message"]
    single = client.post("/v1/identify", content=orjson.dumps(bad), headers=tenant.basic)
    assert single.status_code == 400 and single.json()["problems"][0]["path"] == "traits.cpf"
    stored = client.get("/api/v1/events", headers=tenant.bearer).json()["data"]
    assert stored == []
    assert send(client, tenant, [good]).status_code == 200
    stats = client.get("/api/v1/intake/stats", headers=tenant.bearer).json()["data"]
    assert any(s["rejected"] for s in stats)


def test_scenario_12_dsa_complaints_are_due_in_six_business_hours_and_breaches_show(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    configure(client, tenant)
    friday_4pm = datetime(2026, 3, 13, 16, 0, tzinfo=BERLIN).isoformat()
    assert (
        send(
            client,
            tenant,
            [
                {
                    "type": "identify",
                    "userId": "k1",
                    "traits": {"country": "DE"},
                    "messageId": "i1",
                },
                {
                    "type": "track",
                    "userId": "k1",
                    "event": "Complaint Submitted",
                    "messageId": "c1",
                    "timestamp": friday_4pm,
                    "properties": {"text": "Der Beitrag ist rechtswidrig."},
                },
                {
                    "type": "track",
                    "userId": "k1",
                    "event": "Complaint Submitted",
                    "messageId": "c2",
                    "properties": {"text": "Noch eine Beschwerde"},
                },
            ],
        ).status_code
        == 200
    )

    def listed() -> list[dict[str, Any]]:
        found = client.get("/api/v1/compliance/complaints", headers=tenant.bearer).json()["data"]
        return list(found) if len(found) == 2 else []

    old, fresh = wait_until(listed, what="both complaints listed")
    monday_2pm = datetime(2026, 3, 16, 14, 0, tzinfo=BERLIN)
    assert old["pack"] == "dsa" and old["region"] == "DE"
    assert old["due_ms"] == int(monday_2pm.timestamp() * 1000)
    assert old["status"] == "breached" and fresh["status"] in ("open", "at_risk")
    breaches = client.get("/api/v1/compliance/complaints?breached=true", headers=tenant.bearer)
    assert [c["message_id"] for c in breaches.json()["data"]] == ["c1"]
    heat = client.get("/api/v1/compliance/heatmap", headers=tenant.bearer).json()
    [germany] = [r for r in heat["regions"] if r["region"] == "DE"]
    assert germany["risk"] == "high" and germany["breach_count"] == 1
    assert germany["packs"] == {"gdpr": "2026.1", "dsa": "2026.1"}
    assert [b["message_id"] for b in germany["breaches"]] == ["c1"]
    answered = client.post(
        f"/api/v1/compliance/complaints/{fresh['id']}/answer", headers=tenant.bearer
    )
    assert answered.json()["status"] == "answered"
