"""The compliance API: settings, pack versions and enforcement, consent, checks, isolation."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.compliance import PackRegistry
from tests.integration.conftest import Tenant, make_tenant


def put(client: TestClient, tenant: Tenant, body: dict[str, Any]) -> Any:
    return client.put("/api/v1/compliance/settings", json=body, headers=tenant.bearer)


def test_settings_name_every_problem_with_its_path(client: TestClient, tenant: Tenant) -> None:
    response = put(
        client,
        tenant,
        {
            "packs": ["gdrp"],
            "validators": {"cpf": "br.cfp"},
            "teams": {"de": {"timezone": "Mars/Olympus", "hours": {"mon": ["9-5"]}}},
            "complaint_team": "support",
        },
    )
    assert response.status_code == 400
    paths = {p["path"]: p["message"] for p in response.json()["problems"]}
    assert "unknown pack 'gdrp'" in paths["packs[0]"]
    assert "did you mean 'br.cpf'" in paths["validators.cpf"]
    assert "Mars/Olympus" in paths["teams.de.timezone"]
    assert "HH:MM-HH:MM" in paths["teams.de.hours.mon"]
    assert "no team 'support'" in paths["complaint_team"]
    assert client.get("/api/v1/compliance/settings", headers=tenant.bearer).json()["version"] == 0


def test_a_pack_change_is_a_new_version_whose_enforcement_time_is_measured(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    assert put(client, tenant, {"packs": ["gdpr"]}).status_code == 200
    spec = PackRegistry().get("gdpr").model_dump()
    spec["version"] = "2026.2"
    spec["consent"]["marketing"]["channels"] = ["email"]
    published = client.post(
        "/api/v1/compliance/packs", json={"yaml": yaml.safe_dump(spec)}, headers=tenant.bearer
    )
    assert published.status_code == 201, published.text
    assert published.json()["publish_to_enforcement_ms"] is None
    again = client.post(
        "/api/v1/compliance/packs",
        json={"yaml": yaml.safe_dump(spec | {"name": "x"})},
        headers=tenant.bearer,
    )
    assert again.status_code == 409
    client.post(
        "/v1/identify",
        content=orjson.dumps({"userId": "u1", "traits": {"country": "DE"}, "messageId": "i1"}),
        headers=tenant.basic,
    )
    container.stream.run_once()
    profile = container.compliance.dsr.receive(
        tenant.workspace_id, "access", ("user_id", "u1"), "api", "t"
    ).profile_id
    verdict = client.post(
        "/api/v1/compliance/check",
        json={"profile_id": profile, "purpose": "marketing", "channel": "sms"},
        headers=tenant.bearer,
    )
    assert verdict.json()["allowed"] is False
    assert "only on email" in verdict.json()["reason"]
    assert verdict.json()["packs"] == {"gdpr": "2026.2"}
    versions = client.get("/api/v1/compliance/packs", headers=tenant.bearer).json()
    assert versions["in_force"]["gdpr"]["version"] == "2026.2"
    measured = versions["in_force"]["gdpr"]["publish_to_enforcement_ms"]
    assert measured is not None and 0 <= measured < 60_000
    old = client.get(
        "/api/v1/compliance/packs/gdpr",
        params={"at": "2020-01-01T00:00:00Z"},
        headers=tenant.bearer,
    )
    assert old.json()["enabled"] is False


def test_consent_is_recorded_per_purpose_and_channel_and_checked(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    put(client, tenant, {"packs": ["gdpr", "ccpa"]})
    client.post(
        "/v1/batch",
        content=orjson.dumps(
            {
                "batch": [
                    {
                        "type": "identify",
                        "userId": "de1",
                        "traits": {"country": "DE"},
                        "messageId": "a",
                    },
                    {
                        "type": "identify",
                        "userId": "ca1",
                        "traits": {"country": "US", "state": "CA"},
                        "messageId": "b",
                    },
                ]
            }
        ),
        headers=tenant.basic,
    )
    container.stream.run_once()
    dsr = container.compliance.dsr

    def profile(user: str) -> str:
        return dsr.receive(tenant.workspace_id, "access", ("user_id", user), "api", "t").profile_id

    german, californian = profile("de1"), profile("ca1")

    def check(pid: str) -> dict[str, Any]:
        body = {"profile_id": pid, "purpose": "marketing", "channel": "email"}
        return dict(
            client.post("/api/v1/compliance/check", json=body, headers=tenant.bearer).json()
        )

    assert check(german)["allowed"] is False  # GDPR: opt-in
    assert "needs consent" in check(german)["reason"]
    assert check(californian)["allowed"] is True  # CCPA: opt-out
    client.post(
        "/api/v1/compliance/consents",
        json={
            "profile_id": german,
            "purpose": "marketing",
            "channel": "email",
            "state": "granted",
            "source": "newsletter form",
        },
        headers=tenant.bearer,
    )
    assert check(german)["allowed"] is True
    client.post(
        "/api/v1/compliance/consents",
        json={
            "profile_id": californian,
            "purpose": "marketing",
            "channel": "*",
            "state": "withdrawn",
            "source": "call centre",
        },
        headers=tenant.bearer,
    )
    blocked = check(californian)
    assert blocked["allowed"] is False and "call centre" in blocked["reason"]
    history = client.get(f"/api/v1/compliance/consents/{german}", headers=tenant.bearer).json()
    assert [c["source"] for c in history["data"]] == ["newsletter form"]


def test_one_workspace_never_sees_anothers_compliance_data(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    other = make_tenant(container, "globex")
    put(client, tenant, {"packs": ["gdpr"]})
    client.post(
        "/v1/identify",
        content=orjson.dumps({"userId": "u1", "traits": {"country": "DE"}, "messageId": "i1"}),
        headers=tenant.basic,
    )
    container.stream.run_once()
    made = client.post(
        "/api/v1/dsr",
        json={"kind": "access", "identifier": {"type": "user_id", "value": "u1"}},
        headers=tenant.bearer,
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert client.get(f"/api/v1/dsr/{request_id}", headers=other.bearer).status_code == 404
    assert client.get("/api/v1/dsr", headers=other.bearer).json()["data"] == []
    unknown = client.post(
        "/api/v1/dsr",
        json={"kind": "erasure", "identifier": {"type": "user_id", "value": "u1"}},
        headers=other.bearer,
    )
    assert unknown.status_code == 404
    assert client.get("/api/v1/compliance/settings", headers=other.bearer).json()["version"] == 0
    heat = client.get("/api/v1/compliance/heatmap", headers=other.bearer).json()
    assert heat["regions"] == []


def test_a_value_can_be_checked_and_validators_are_listed(
    client: TestClient, tenant: Tenant
) -> None:
    ok = client.post(
        "/api/v1/compliance/validate",
        json={"validator": "br.cnpj", "value": "11.222.333/0001-81"},
        headers=tenant.bearer,
    )
    assert ok.json() == {"valid": True, "problem": None}
    bad = client.post(
        "/api/v1/compliance/validate",
        json={"validator": "eu.vat", "value": "DE136695970"},
        headers=tenant.bearer,
    )
    assert bad.json()["valid"] is False and bad.json()["problem"]["reason"] == "invalid_checksum"
    names = [
        v["name"]
        for v in client.get("/api/v1/compliance/validators", headers=tenant.bearer).json()["data"]
    ]
    assert {"br.cpf", "br.cnpj", "eu.vat", "iban", "cn.ric", "email", "phone"} <= set(names)


def test_a_script_with_a_regions_forbidden_words_is_refused_and_recorded(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    from crmos.compliance import check_script
    from crmos.store import get_decision

    put(client, tenant, {"packs": ["gdpr", "pipl"]})
    with container.engine.begin() as conn:
        german = check_script(
            conn, tenant.workspace_id, ["DE"], "Unser Tarif ist garantiert günstig"
        )
        chinese = check_script(conn, tenant.workspace_id, ["CN"], "本产品保本稳赚")
        fine = check_script(conn, tenant.workspace_id, ["DE"], "Ihr Vertrag läuft im Mai aus")
        decision = get_decision(conn, tenant.workspace_id, german.decision_id or "")
    assert not german.allowed and german.found == {"gdpr": ["garantiert"]}
    assert not chinese.allowed and chinese.found == {"pipl": ["保本", "稳赚"]}
    assert fine.allowed and fine.packs == {"gdpr": "2026.1"}
    assert decision is not None and "garantiert" in decision.reason
