"""Consent is checked by the action that sends, whoever starts the run: the API
(``POST /api/v1/runs``), the CLI (``crmos runs start``) or a playbook, against a real SMTP
server (aiosmtpd) and the store's own consent history.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crmos.api import create_app
from crmos.bootstrap import Container
from crmos.cli import app as cli_app
from crmos.core.settings import Settings
from crmos.identity import profile_of
from crmos.store import decisions_of
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.connector_support import Inbox, free_port
from tests.integration.playbook_support import identify, ingest, track
from tests.polling import wait_until

OPTED_OUT, CONSENTED = "optout@acme.example", "yes@acme.example"
FAST = {"backoff_s": 0.01, "max_backoff_s": 0.05, "poll_interval_s": 0.02}


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    server = Controller(box, hostname="127.0.0.1", port=port)
    server.start()
    yield box, port
    server.stop()


@pytest.fixture
def settings(store_url: str, tmp_path: Path, inbox: tuple[Inbox, int]) -> Settings:
    """The test store, with e-mail going to the test SMTP server and fast run polling."""
    smtp = {"host": "127.0.0.1", "port": inbox[1], "from_address": "CS <cs@acme.example>"}
    return Settings(
        home=tmp_path / "home",
        store={"url": store_url},
        connectors={"smtp": smtp},
        sagas=FAST,
    )


@pytest.fixture
def people(container: Container) -> tuple[Tenant, dict[str, str]]:
    """Two customers: one withdrew marketing consent by e-mail, one granted it."""
    tenant = make_tenant(container, "acme")
    ws = tenant.workspace_id
    ingest(container, ws, identify("u-out", email=OPTED_OUT), identify("u-yes", email=CONSENTED))
    with container.engine.connect() as conn:
        ids = {a: profile_of(conn, ws, "email", a) for a in (OPTED_OUT, CONSENTED)}
    for address, state in ((OPTED_OUT, "withdrawn"), (CONSENTED, "granted")):
        pid = ids[address]
        assert pid is not None
        fields = {"purpose": "marketing", "channel": "email", "state": state}
        container.compliance.consent(ws, pid, source="preference centre", **fields)
    return tenant, {a: str(p) for a, p in ids.items()}


def newsletter(to: str, **extra: Any) -> dict[str, Any]:
    """A one-step run that e-mails ``to`` (marketing unless ``extra`` says otherwise)."""
    mail = {"to": [to], "subject": "Spring offers", "text": "20% off this week.", **extra}
    return {"name": "newsletter", "steps": [{"id": "mail", "action": "email.send", "with": mail}]}


def ended(container: Container, ws: str, run_id: str) -> Any:
    run = container.runs.wait(ws, run_id, timeout_s=30)
    assert run.terminal, f"run {run_id} did not end: {run.status}"
    return container.runs.get(ws, run_id)


def assert_refused(detail: Any, address: str, profile_id: str) -> None:
    """The step failed once, permanently, naming the purpose and the profile."""
    assert detail.run.status != "completed"
    attempts = [e for e in detail.timeline if e.step_id == "mail" and e.phase == "execute"]
    assert [e.status for e in attempts] == ["permanent"]  # not retried
    error = attempts[0].error
    assert "no consent to marketing via email" in error
    assert address in error and profile_id in error and "withdrawn" in error


@pytest.fixture
def api(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as client:  # starts the embedded engine
        yield client


def test_a_run_started_over_the_api_does_not_email_a_person_who_opted_out(
    api: TestClient, container: Container, people: tuple[Tenant, dict[str, str]], inbox: Any
) -> None:
    tenant, ids = people
    started = api.post("/api/v1/runs", json=newsletter(OPTED_OUT), headers=tenant.bearer)
    assert started.status_code == 201, started.text
    detail = ended(container, tenant.workspace_id, started.json()["id"])
    assert_refused(detail, OPTED_OUT, ids[OPTED_OUT])
    assert inbox[0].messages == []
    with container.engine.connect() as conn:
        decisions = decisions_of(conn, tenant.workspace_id, ids[OPTED_OUT])
    assert [d.kind for d in decisions] == ["compliance.marketing_blocked"]


def test_a_run_started_over_the_api_emails_a_person_who_consented(
    api: TestClient, container: Container, people: tuple[Tenant, dict[str, str]], inbox: Any
) -> None:
    tenant, ids = people
    started = api.post("/api/v1/runs", json=newsletter(CONSENTED), headers=tenant.bearer)
    detail = ended(container, tenant.workspace_id, started.json()["id"])
    assert detail.run.status == "completed", detail.run.reason
    [mail] = inbox[0].messages
    assert mail["To"] == CONSENTED and mail["Subject"] == "Spring offers"
    [answer] = detail.steps[0].result["consent"]
    assert answer["profile_id"] == ids[CONSENTED]


def test_a_service_message_reaches_a_person_who_opted_out_of_marketing(
    api: TestClient, container: Container, people: tuple[Tenant, dict[str, str]], inbox: Any
) -> None:
    tenant, _ = people
    letter = newsletter(OPTED_OUT, subject="Your erasure request", purpose="service")
    started = api.post("/api/v1/runs", json=letter, headers=tenant.bearer)
    detail = ended(container, tenant.workspace_id, started.json()["id"])
    assert detail.run.status == "completed", detail.run.reason
    assert [m["To"] for m in inbox[0].messages] == [OPTED_OUT]


def test_marketing_to_an_address_no_profile_holds_is_refused(
    api: TestClient, container: Container, people: tuple[Tenant, dict[str, str]], inbox: Any
) -> None:
    tenant, _ = people
    started = api.post("/api/v1/runs", json=newsletter("who@else.example"), headers=tenant.bearer)
    detail = ended(container, tenant.workspace_id, started.json()["id"])
    assert detail.run.status != "completed"
    assert "no profile holds who@else.example" in (detail.steps[0].error or "")
    assert inbox[0].messages == []


def test_crmos_runs_start_does_not_email_a_person_who_opted_out(
    container: Container,
    people: tuple[Tenant, dict[str, str]],
    inbox: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant, ids = people
    container.start_engine()  # the engine of `crmos serve`; the CLI only queues the run
    monkeypatch.setenv("CRMOS__HOME", str(container.settings.home))
    monkeypatch.setenv("CRMOS__STORE__URL", container.settings.store.url)
    monkeypatch.setenv("CRMOS_CONFIG", str(tmp_path / "absent.toml"))
    for address in (OPTED_OUT, CONSENTED):
        spec = tmp_path / f"{address}.yaml"
        spec.write_text(yaml.safe_dump(newsletter(address)), encoding="utf-8")
        result = CliRunner().invoke(cli_app, ["runs", "start", str(spec), "--wait", "30", "--json"])
        assert result.exit_code == 0, result.output
        run = orjson.loads(result.stdout)
        detail = ended(container, tenant.workspace_id, run["id"])
        if address == OPTED_OUT:
            assert_refused(detail, OPTED_OUT, ids[OPTED_OUT])
    assert [m["To"] for m in inbox[0].messages] == [CONSENTED]


PROMO = """
id: promo
description: E-mail an offer to anyone who looks at pricing (no playbook-level consent)
trigger:
  pattern:
    event:
      event: Pricing Viewed
steps:
  - {id: mail, component: notify.email, with: {subject: Offer, text: Buy now.}}
"""


def test_a_playbook_without_a_consent_clause_still_cannot_email_a_person_who_opted_out(
    container: Container, people: tuple[Tenant, dict[str, str]], inbox: Any
) -> None:
    tenant, ids = people
    ws = tenant.workspace_id
    container.start_engine()
    container.playbooks.publish(ws, PROMO, "ops@acme", "first")
    ingest(
        container, ws, track("u-out", "Pricing Viewed", 0.1), track("u-yes", "Pricing Viewed", 0.1)
    )

    def runs_ended() -> list[Any] | None:
        fired = [f for f in container.playbooks.firings(ws, "promo") if f["run_id"]]
        runs = [container.runs.get(ws, f["run_id"]) for f in fired]
        return runs if len(runs) == 2 and all(r.run.terminal for r in runs) else None

    runs = wait_until(runs_ended, 30, "both promo runs to end")
    by_status = {r.run.status == "completed": r for r in runs}
    assert set(by_status) == {True, False}
    assert ids[OPTED_OUT] in (by_status[False].steps[0].error or "")
    assert [m["To"] for m in inbox[0].messages] == [CONSENTED]
