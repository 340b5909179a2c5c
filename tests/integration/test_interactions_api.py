"""``/api/v1/interactions`` on SQLite and PostgreSQL: intake, attachment to profiles through
identity, the four tags, hand-over events, bad input kept with a reason, workspace isolation."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient

from crmos.agent.datasets.pdf import text_pdf
from crmos.bootstrap import Container
from tests.integration.conftest import Tenant, make_tenant


def eml(sender: str | None, body: str, subject: str = "Hello") -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = "sales@example.com"
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


def upload(client: TestClient, tenant: Tenant, name: str, data: bytes, **form: str) -> Any:
    response = client.post(
        "/api/v1/interactions", headers=tenant.bearer, files={"file": (name, data)}, data=form
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_email_is_stored_understood_tagged_and_attached_to_the_senders_profile(
    client: TestClient, tenant: Tenant
) -> None:
    body = (
        "Hi,\nour CloudDesk licence expires on 2026-03-31. We'd like to renew for two more years.\n"
    )
    first = upload(client, tenant, "renewal.eml", eml("Ann Lee <ann@example.com>", body))
    assert first["status"] == "ok" and first["kind"] == "email" and first["language"] == "en"
    assert first["profile_id"], "identity made a profile for the new sender"
    assert first["tags"] == {
        "touchpoint": "email", "intent": "renewal_interest",
        "action": "send_renewal_offer", "outcome": "recommended",
    }  # fmt: skip
    assert {"kind": "date", "text": "2026-03-31"}.items() <= first["understanding"]["entities"][
        0
    ].items()
    second = upload(client, tenant, "again.eml", eml("ann@EXAMPLE.com", "How much is it per seat?"))
    assert second["profile_id"] == first["profile_id"]
    assert second["tags"]["intent"] == "pricing_question"
    listed = client.get(
        "/api/v1/interactions", headers=tenant.bearer, params={"profile_id": first["profile_id"]}
    ).json()["data"]
    assert {i["id"] for i in listed} == {first["id"], second["id"]}


def test_a_chinese_transcript_is_attached_by_the_phone_given_with_it(
    client: TestClient, tenant: Tenant
) -> None:
    text = "张经理：你们的系统又崩溃了，我非常失望，要投诉！\n客服：非常抱歉，我们马上处理。\n"
    item = upload(client, tenant, "call.txt", text.encode(), sender_phone="138 0013 8000")
    assert item["language"] == "zh" and item["tags"]["intent"] == "complaint"
    assert item["understanding"]["sentiment"]["label"] == "negative"
    assert [u["speaker"] for u in item["understanding"]["utterances"]] == ["张经理", "客服"]
    assert item["sender"]["phone"] == "+8613800138000" and item["profile_id"]


def test_interactions_are_logged_as_events_and_a_complaint_is_handed_over_with_its_text(
    client: TestClient, tenant: Tenant
) -> None:
    text = "Ich beschwere mich und verlange die Löschung meiner Daten nach DSGVO Art. 17."
    item = upload(client, tenant, "beschwerde.eml", eml("max@example.de", text))
    assert item["tags"]["intent"] == "data_deletion_request" and item["status"] == "ok"
    events = client.get("/api/v1/events", headers=tenant.bearer, params={"type": "track"}).json()
    names = {e["event"]: e for e in events["data"]}
    assert names["Interaction Received"]["properties"]["interaction_id"] == item["id"]
    handover = names["Complaint Submitted"]["properties"]
    assert handover["intent"] == "data_deletion_request" and "Löschung" in handover["text"]


def test_a_contract_pdf_yields_clauses_with_page_and_span(
    client: TestClient, tenant: Tenant
) -> None:
    pages = [
        "1. Term\nThis Agreement commences on 1 January 2025 and remains in force for two years.",
        "2. Limitation of Liability\nTotal liability shall not exceed USD 200,000.",
    ]
    item = upload(client, tenant, "msa.pdf", text_pdf(pages), sender_email="legal@example.com")
    clauses = item["understanding"]["clauses"]
    assert [(c["type"], c["page"]) for c in clauses] == [("term", 1), ("liability_cap", 2)]
    assert clauses[1]["text"] == "Total liability shall not exceed USD 200,000."


def test_unreadable_input_is_kept_with_its_reason_and_its_exact_bytes(
    client: TestClient, tenant: Tenant
) -> None:
    broken = b"%PDF-1.7 truncated"
    item = upload(client, tenant, "broken.pdf", broken)
    assert item["status"] == "unreadable" and "PDF" in item["reason"]
    assert item["tags"]["outcome"] == "unreadable" and item["recommendations"] == []
    raw = client.get(f"/api/v1/interactions/{item['id']}/file", headers=tenant.bearer)
    assert raw.content == broken
    unknown = upload(client, tenant, "x.txt", b"Lorem ipsum dolor sit amet consectetur adipiscing")
    assert unknown["status"] == "unreadable" and "only Chinese and English" in unknown["reason"]


def test_an_email_without_a_sender_is_kept_unattached_and_says_how_to_attach_it(
    client: TestClient, tenant: Tenant
) -> None:
    item = upload(client, tenant, "anon.eml", eml(None, "Please send me your price list."))
    assert item["status"] == "unattached" and item["profile_id"] is None
    assert "sender" in item["reason"]


def test_an_oversize_file_is_refused_with_413_and_nothing_is_stored(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    container.agent.settings.max_file_bytes = 2048
    response = client.post(
        "/api/v1/interactions", headers=tenant.bearer, files={"file": ("big.txt", b"a" * 5000)}
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert client.get("/api/v1/interactions", headers=tenant.bearer).json()["data"] == []


def test_an_unknown_profile_is_a_clear_404(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/api/v1/interactions", headers=tenant.bearer,
        files={"file": ("m.txt", b"We want to renew.")}, data={"profile_id": "prf_nope"},
    )  # fmt: skip
    assert response.status_code == 404 and "prf_nope" in response.json()["detail"]


def test_another_workspace_sees_none_of_it(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    item = upload(client, tenant, "m.eml", eml("ann@example.com", "Please renew our plan."))
    other = make_tenant(container, "globex")
    assert client.get(f"/api/v1/interactions/{item['id']}", headers=other.bearer).status_code == 404
    assert (
        client.get(f"/api/v1/interactions/{item['id']}/file", headers=other.bearer).status_code
        == 404
    )
    assert client.get("/api/v1/interactions", headers=other.bearer).json()["data"] == []


def test_classify_answers_intent_sentiment_and_entities_without_storing(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        "/api/v1/interactions/classify", headers=tenant.bearer,
        json={"text": "We were charged twice for invoice INV-2024-0412, please refund $1,200."},
    )  # fmt: skip
    data = response.json()
    assert data["intent"]["name"] == "payment_issue"
    assert {"kind": "money", "value": "1200.00 USD"}.items() <= next(
        e for e in data["entities"] if e["kind"] == "money"
    ).items()
    assert client.get("/api/v1/interactions", headers=tenant.bearer).json()["data"] == []


def test_a_workspace_can_add_its_own_intent_by_examples(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    from crmos.agent import repo

    examples = [
        "My warranty claim for the pump needs to be registered.",
        "I want to claim warranty on the broken compressor.",
        "Please open a warranty claim for serial number 4411.",
        "The motor failed within the warranty period, I claim a replacement.",
        "Warranty claim: the valve leaks after two months.",
    ]
    with container.engine.begin() as conn:
        repo.add_intent(conn, tenant.workspace_id, "warranty_claim", "en", examples)
    response = client.post(
        "/api/v1/interactions/classify", headers=tenant.bearer,
        json={"text": "Hello, can I make a warranty claim for the gearbox that failed?"},
    )  # fmt: skip
    assert response.json()["intent"]["name"] == "warranty_claim"
