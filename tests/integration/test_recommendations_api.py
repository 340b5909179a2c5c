"""Recommendations grounded in knowledge, with impact levels, approval of high-impact ones,
and their decision records (``/api/v1/profiles/{id}/decisions``, ``/api/v1/decisions/{id}``)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.store import verify_audit
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.test_interactions_api import eml, upload

PLAYBOOK = (
    "# Renewal talk track\n\nWhen a customer wants to renew, offer the two-year plan with a 5% "
    "loyalty discount and send the ROI sheet built from billing history.\n\n"
    "# Churn\n\nIf a customer compares competitors, the customer-success manager calls within "
    "a day.\n"
)


def _knowledge(container: Container, tenant: Tenant, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "renewal.md").write_text(PLAYBOOK, encoding="utf-8")
    container.agent.knowledge.add_folder(tenant.workspace_id, folder)


def test_a_recommendation_cites_the_interaction_its_event_and_a_knowledge_passage(
    container: Container, client: TestClient, tenant: Tenant, tmp_path: Path
) -> None:
    _knowledge(container, tenant, tmp_path)
    item = upload(
        client, tenant, "m.eml", eml("ann@example.com", "We would like to renew our plan.")
    )
    (rec,) = item["recommendations"]
    assert (rec["action"], rec["impact"], rec["status"]) == (
        "send_renewal_offer",
        "medium",
        "proposed",
    )
    cites = rec["citations"]
    assert cites["interactions"] == [item["id"]] and cites["events"] == [item["message_id"]]
    passage = cites["passages"][0]
    assert passage["source"] == "renewal.md" and passage["page"] == 1
    assert "renewal.md p.1" in rec["reason"] and "renewal_interest" in rec["reason"]
    decision = client.get(f"/api/v1/decisions/{rec['decision_id']}", headers=tenant.bearer).json()
    assert decision["kind"] == "agent.recommendation" and decision["rule"] == "crmos.agent.nba"
    assert decision["subject_profile_id"] == item["profile_id"]
    assert decision["inputs"]["intent"] == "renewal_interest" and decision["score"] > 0.5
    assert decision["event_ids"] == [item["message_id"]]
    listed = client.get(f"/api/v1/profiles/{item['profile_id']}/decisions", headers=tenant.bearer)
    assert rec["decision_id"] in [d["id"] for d in listed.json()["data"]]


def test_a_high_impact_recommendation_waits_for_approval_and_records_the_approver(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    text = "We plan to expand to 300 more seats next quarter, a budget of USD 250,000."
    item = upload(client, tenant, "m.eml", eml("cfo@example.com", text))
    (rec,) = item["recommendations"]
    assert (rec["impact"], rec["status"]) == ("high", "pending")
    assert item["tags"]["outcome"] == "awaiting_approval"
    pending = client.get(
        "/api/v1/recommendations", headers=tenant.bearer, params={"status": "pending"}
    )
    assert [r["id"] for r in pending.json()["data"]] == [rec["id"]]
    approved = client.post(
        f"/api/v1/recommendations/{rec['id']}/approve", headers=tenant.bearer,
        json={"approver": "Maria Schmidt", "note": "good margin"},
    )  # fmt: skip
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["approver"], body["note"]) == (
        "approved",
        "Maria Schmidt",
        "good margin",
    )
    verdict = client.get(
        f"/api/v1/decisions/{body['verdict_decision_id']}", headers=tenant.bearer
    ).json()
    assert (
        verdict["approver"] == "Maria Schmidt"
        and verdict["kind"] == "agent.recommendation.approved"
    )
    again = client.post(f"/api/v1/recommendations/{rec['id']}/reject", headers=tenant.bearer)
    assert again.status_code == 409
    shown = client.get(f"/api/v1/interactions/{item['id']}", headers=tenant.bearer).json()
    assert shown["tags"]["outcome"] == "approved"
    with container.engine.connect() as conn:
        assert list(verify_audit(conn, tenant.workspace_id)) == []


def test_rejecting_records_the_key_as_approver_when_no_person_is_named(
    client: TestClient, tenant: Tenant
) -> None:
    item = upload(
        client, tenant, "m.eml", eml("ann@example.com", "We will cancel at the end of the term.")
    )
    (rec,) = item["recommendations"]
    assert rec["impact"] == "high"
    rejected = client.post(
        f"/api/v1/recommendations/{rec['id']}/reject", headers=tenant.bearer
    ).json()
    assert rejected["status"] == "rejected" and rejected["approver"].startswith("key:")


def test_low_impact_recommendations_do_not_wait_for_approval(
    client: TestClient, tenant: Tenant
) -> None:
    item = upload(
        client, tenant, "m.eml", eml("dev@example.com", "Is there a REST API and an SDK?")
    )
    (rec,) = item["recommendations"]
    assert (rec["impact"], rec["status"]) == ("low", "proposed")
    response = client.post(f"/api/v1/recommendations/{rec['id']}/approve", headers=tenant.bearer)
    assert response.status_code == 409 and "only pending" in response.json()["detail"]


def test_reasons_are_written_in_the_workspaces_language(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    from crmos.agent import repo

    with container.engine.begin() as conn:
        repo.set_language(conn, tenant.workspace_id, "zh")
    item = upload(client, tenant, "m.eml", eml("li@example.com", "我们想续约明年的合同。"))
    assert "建议：发送续约方案" in item["recommendations"][0]["reason"]


def test_other_workspaces_cannot_see_or_approve_recommendations(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    item = upload(
        client, tenant, "m.eml", eml("ann@example.com", "We will cancel at the end of the term.")
    )
    rec = item["recommendations"][0]
    other = make_tenant(container, "globex")
    assert (
        client.post(
            f"/api/v1/recommendations/{rec['id']}/approve", headers=other.bearer
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/decisions/{rec['decision_id']}", headers=other.bearer).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/profiles/{item['profile_id']}/decisions", headers=other.bearer).json()[
            "data"
        ]
        == []
    )


def test_approving_needs_an_admin_key(client: TestClient, tenant: Tenant) -> None:
    import base64

    item = upload(
        client, tenant, "m.eml", eml("ann@example.com", "We will cancel at the end of the term.")
    )
    rec = item["recommendations"][0]
    write = {"Authorization": f"Bearer {tenant.write_key}"}
    assert (
        client.post(f"/api/v1/recommendations/{rec['id']}/approve", headers=write).status_code
        == 403
    )
    assert base64  # the write key authenticates, but lacks the admin scope
