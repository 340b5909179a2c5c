"""An erasure reaches every room, on SQLite and PostgreSQL: a person's data is put into one room
through the API or CLI, erased through the DSR API, and then no table, binary column or file
under the data directories holds any spelling of their strings, and the report says so."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crmos.bootstrap import Container
from crmos.cli.main import app as cli
from crmos.core.datamap import DataMap, Holding, Room
from tests.integration.conftest import Tenant
from tests.integration.erasure_support import (
    ADDRESS,
    EMAIL,
    NAME,
    drain,
    eml,
    erase,
    identify,
    leftovers,
    report_of,
    stores,
    track,
)
from tests.polling import wait_until


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The app with its workers (intake writer, stream); tests also drain the stream."""
    return client


def _cli(container: Container, *args: str) -> str:
    env = {
        "CRMOS__HOME": str(container.settings.home),
        "CRMOS__STORE__URL": container.settings.store.url,
    }
    done = CliRunner().invoke(cli, list(args), env=env)
    assert done.exit_code == 0, done.output
    return done.output


def _upload(api: TestClient, tenant: Tenant, name: str, data: bytes, **form: str) -> Any:
    response = api.post(
        "/api/v1/interactions", headers=tenant.bearer, files={"file": (name, data)}, data=form
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_erasure_removes_the_raw_email_a_person_sent_and_all_that_was_read_from_it(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    identify(api, tenant.basic)
    drain(container)
    item = _upload(api, tenant, "lieferung.eml", eml("Wann kommt meine Bestellung 4471 an?"))
    drain(container)
    assert item["profile_id"]
    before = leftovers(container)
    assert "interaction_files.data" in before and "interactions.text" in before
    report = report_of(erase(api, tenant))
    assert stores(report)["interaction_files"]["count"] == 1
    assert stores(report)["interactions"]["status"] == "deleted"
    assert leftovers(container) == []
    assert api.get(f"/api/v1/interactions/{item['id']}", headers=tenant.bearer).status_code == 404


def test_another_persons_email_that_quotes_the_erased_person_is_kept_with_their_strings_replaced(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    identify(api, tenant.basic)
    drain(container)
    forward = eml("Please call back the customer below.", sender="Eva Colleague <eva@example.com>")
    kept = _upload(api, tenant, "forward.eml", forward)
    drain(container)
    report_of(erase(api, tenant))
    assert leftovers(container) == []
    raw = api.get(f"/api/v1/interactions/{kept['id']}/file", headers=tenant.bearer)
    assert raw.status_code == 200 and b"Eva Colleague" in raw.content
    assert b"erased:" in raw.content


def test_knowledge_passages_intent_examples_and_model_caches_lose_the_persons_strings(
    api: TestClient, container: Container, tenant: Tenant, tmp_path: Path
) -> None:
    identify(api, tenant.basic)
    drain(container)
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "accounts.md").write_text(
        f"# Key accounts\n\nOur contact at Acme is {NAME}, {ADDRESS}, reachable at {EMAIL}.\n"
        "Renewals are handled by the customer-success team within ten days.\n",
        encoding="utf-8",
    )
    _cli(container, "knowledge", "add", str(folder), "--workspace", "acme")
    examples = [
        f"please ask {NAME} about the pallet delivery",
        f"{NAME} wants the pallets on Monday",
        f"where are the pallets for {NAME}",
    ]
    flags = [a for e in examples for a in ("-e", e)]
    _cli(container, "interactions", "intent", "logistics", *flags, "--workspace", "acme")
    container.agent.models.forget([])  # trained in this test, whatever ran before in the process
    classified = api.post(
        "/api/v1/interactions/classify",
        headers=tenant.bearer,
        json={"text": "Could you tell me when the pallet delivery for our warehouse arrives?"},
    )
    assert classified.status_code == 200, classified.text
    surname = "müller".encode()
    caches = container.agent.models.cache_files()
    assert any(surname in path.read_bytes() for path in caches), "the model's vocabulary"
    hits = api.get("/api/v1/knowledge/search", headers=tenant.bearer, params={"q": "Müller"})
    assert hits.status_code == 200 and hits.json()["data"], hits.text
    assert any("knowledge_passages" in w for w in leftovers(container))
    report = report_of(erase(api, tenant))
    assert stores(report)["knowledge_passages"]["status"] == "pseudonymised"
    assert stores(report)["agent_intents"]["count"] == 3
    assert stores(report)["model_caches"]["count"] >= 1
    assert not any(surname in p.read_bytes() for p in container.agent.models.cache_files())
    assert leftovers(container) == []
    again = api.get("/api/v1/knowledge/search", headers=tenant.bearer, params={"q": "renewals"})
    assert again.status_code == 200 and again.json()["data"], "the passage is still found"


def test_graph_nodes_edges_devices_activity_scores_and_audiences_of_the_person_go(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    device = "hans-phone-77812"
    identify(api, tenant.basic, context={"device": {"id": device}})
    other = {"userId": "eva-31337", "traits": {"email": "eva@example.com"}, "messageId": "eva-1"}
    assert api.post("/v1/identify", headers=tenant.basic, json=other).status_code == 200
    webinar = {"occasion_id": "summit-2026", "occasion_name": "Summit 2026"}
    track(api, tenant, "Webinar Attended", 1, **webinar)
    eva = {"userId": "eva-31337", "event": "Webinar Attended", "properties": webinar,
           "messageId": "eva-2"}  # fmt: skip
    assert api.post("/v1/track", headers=tenant.basic, json=eva).status_code == 200
    track(api, tenant, "API Docs Viewed", 1, path="/docs/api/auth", seconds=250)
    track(api, tenant, "Section Expanded", 2, section="integration")
    drain(container)
    audience = api.post(
        "/api/v1/audiences",
        headers=tenant.bearer,
        json={"name": "germany", "condition": 'traits.country == "DE"'},
    )
    assert audience.status_code == 201 and audience.json()["members"] == 1, audience.text
    graph_before = [w for w in leftovers(container, (device,)) if w.startswith("graph_")]
    assert graph_before, "the device node and edge hold the device id"
    report = report_of(erase(api, tenant))
    out = stores(report)
    for table in ("graph_nodes", "graph_edges", "graph_activity", "graph_scores"):
        assert out[table]["count"] >= 1, (table, out[table])
    assert out["graph_audience_members"]["count"] == 1
    assert leftovers(container) == [] and leftovers(container, (device,)) == []
    members = api.get(f"/api/v1/audiences/{audience.json()['id']}/members", headers=tenant.bearer)
    assert members.json()["data"] == []


def test_a_room_that_holds_personal_data_without_an_eraser_leaves_the_erasure_incomplete(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    identify(api, tenant.basic)
    drain(container)
    loyalty = DataMap("loyalty", (Holding("table", "loyalty_cards", ("holder_name",)),))
    dsr = container.compliance.dsr
    dsr.rooms = (*dsr.rooms, Room(loyalty, None), Room(DataMap("weather"), None))
    done = erase(api, tenant)
    assert done["status"] == "incomplete"
    assert "loyalty" in done["reason"] and "weather" not in done["reason"]
    [failed] = [s for s in done["report"]["stores"] if s["status"] == "failed"]
    assert failed["target"] == "loyalty" and "no eraser" in failed["detail"]
    assert leftovers(container) == [], "every room that has an eraser still erased"


def test_the_report_says_what_happens_to_deleted_row_versions_on_this_store(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    identify(api, tenant.basic)
    drain(container)
    storage = report_of(erase(api, tenant))["storage"]
    assert storage["backend"] == container.engine.dialect.name
    if storage["backend"] == "postgresql":
        assert "crypto-shredding" in storage["deleted_row_versions"]
    else:
        assert "secure_delete" in storage["deleted_row_versions"]


def test_running_a_request_another_runner_claimed_first_answers_its_outcome(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    identify(api, tenant.basic)
    drain(container)
    dsr = container.compliance.dsr
    request = dsr.receive(tenant.workspace_id, "erasure", ("email", EMAIL), "api", "t")
    worker = threading.Thread(target=dsr.run, args=(tenant.workspace_id, request.id, "worker"))
    worker.start()
    ws = tenant.workspace_id
    wait_until(lambda: container.compliance.request(ws, request.id).status != "received")
    answered = dsr.run(tenant.workspace_id, request.id, "api")  # claimed: waits for the outcome
    worker.join(timeout=60)
    assert answered.status == "completed", answered.status
