"""An erasure reaches what a person set in motion, on SQLite and PostgreSQL: a playbook's window
state, firing, decision and durable run (DBOS's checkpoints too), a run started over the API,
files under the data directory, and log records."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from typer.testing import CliRunner

from crmos.api import create_app
from crmos.bootstrap import Container, build
from crmos.cli.main import app as cli
from crmos.connectors.sim import start_simulators
from crmos.core.event import Event
from crmos.core.settings import Settings
from crmos.ingest import Consumer, StreamRunner
from crmos.sagas.testing import EffectServer
from crmos.store.tables import metadata, stream_failures
from tests.integration.connector_support import Recorder, free_port
from tests.integration.erasure_support import (
    EMAIL,
    NAME,
    USER_ID,
    drain,
    identify,
    leftovers,
    report_of,
    stores,
)
from tests.integration.playbook_support import example
from tests.integration.saga_support import effect, start_fast_engine, wait_until

BUYER = "weber-7781"
BUYER_EMAIL = "weber@acme.example"
BUYER_NEEDLES = (BUYER, BUYER_EMAIL, "Ms Weber")


@dataclass
class World:
    container: Container
    api: TestClient
    workspace: str
    headers: dict[str, str]
    basic: dict[str, str]


@pytest.fixture
def world(migrated_store_url: str, tmp_path: Path) -> Iterator[World]:
    """crmos with its saga engine against the ERP simulator, an SMTP server and chat hooks."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    sims, stop_sims = start_simulators(seed=1)
    port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    chat = Recorder(answer=b"ok").start()
    settings = Settings(
        home=tmp_path / "home",
        store={"url": migrated_store_url},
        connectors={
            "base_urls": sims,
            "smtp": {"host": "127.0.0.1", "port": port, "from_address": "CS <cs@acme.example>"},
            "chat_webhooks": {
                n: {"platform": "slack", "url": f"{chat.url}/{n}"} for n in ("csm", "director")
            },
        },
    )
    container = start_fast_engine(build(settings, migrate_store=True))
    container.settings.sagas = container.settings.sagas.model_copy(
        update={"plugins": ["crmos.sagas.testing:actions"]}
    )
    ws, write, admin = container.workspaces.create("acme")
    import base64

    basic = {"Authorization": "Basic " + base64.b64encode(f"{write.secret}:".encode()).decode()}
    try:
        with TestClient(create_app(container)) as api:
            yield World(container, api, ws.id, {"Authorization": f"Bearer {admin.secret}"}, basic)
    finally:
        container.close()
        chat.stop()
        smtp.stop()
        stop_sims()


def _send(world: World, *messages: dict[str, Any]) -> None:
    response = world.api.post("/v1/batch", headers=world.basic, json={"batch": list(messages)})
    assert response.status_code == 200, response.text
    drain(world.container)


def _erase(world: World, value: str) -> dict[str, Any]:
    response = world.api.post(
        "/api/v1/dsr",
        headers=world.headers,
        json={"kind": "erasure", "identifier": {"type": "email", "value": value}},
    )
    assert response.status_code == 201, response.text
    done: dict[str, Any] = response.json()
    return done


def _workflows(container: Container, run_id: str) -> list[Any]:
    return list(container.runs.dispatcher.client().list_workflows(workflow_id_prefix=run_id))


def test_a_playbook_run_for_the_person_is_kept_pseudonymised_and_dbos_forgets_its_checkpoints(
    world: World,
) -> None:
    c, ws = world.container, world.workspace
    c.playbooks.publish(ws, example("renewal_risk.yaml"), "revops@acme", "scenario 1")
    traits = {"email": BUYER_EMAIL, "name": "Ms Weber", "company": "ACME",
              "customer_id": "acme", "annual_value": 240000}  # fmt: skip
    views = [
        {"type": "page", "userId": BUYER, "name": "Renewal Compare", "messageId": f"pv-{i}",
         "properties": {"path": "/renewal/compare"}}
        for i in range(3)
    ]  # fmt: skip
    _send(world, {"type": "identify", "userId": BUYER, "traits": traits, "messageId": "b-1"})
    _send(world, *views)

    def ended() -> dict[str, Any] | None:
        fired = [f for f in c.playbooks.firings(ws, "renewal-risk") if f["run_id"]]
        run = c.runs.get(ws, fired[0]["run_id"]).run if fired else None
        return fired[0] if run is not None and run.terminal else None

    firing = wait_until(ended, 60, "the renewal-risk run to end")
    run_id = firing["run_id"]
    assert _workflows(c, run_id), "DBOS checkpointed the run"
    assert leftovers(c, BUYER_NEEDLES), "the run, firing and decision name the buyer"
    report = report_of(_erase(world, BUYER_EMAIL))
    out = stores(report)
    assert out["playbook_firings"]["count"] == 1 and out["trigger_state"]["count"] >= 1
    assert out["saga_runs"]["status"] == "pseudonymised"
    assert out["dbos_workflows"]["count"] >= 1
    assert leftovers(c, BUYER_NEEDLES) == []
    assert _workflows(c, run_id) == []
    kept = c.runs.get(ws, run_id)
    assert kept.run.status == "completed", "the run's record stays, without the buyer"


def test_a_run_started_over_the_api_with_the_persons_data_is_pseudonymised(
    world: World,
) -> None:
    c = world.container
    identify(world.api, world.basic)
    drain(c)
    with EffectServer() as effects:
        step = effect("ship", effects.url, **{"with": {"customer": EMAIL, "name": NAME}})
        started = world.api.post("/api/v1/runs", headers=world.headers, json={"steps": [step]})
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        wait_until(lambda: c.runs.get(world.workspace, run_id).run.terminal, 30, "the run")
    report = report_of(_erase(world, EMAIL))
    assert stores(report)["saga_runs"]["count"] == 1
    assert leftovers(c) == [] and _workflows(c, run_id) == []


def test_files_under_the_home_lose_the_persons_strings_and_a_binary_copy_is_reported(
    world: World,
) -> None:
    c = world.container
    identify(world.api, world.basic)
    drain(c)
    out = c.settings.home / "exports" / "hans.json"
    out.parent.mkdir()
    env = {"CRMOS__HOME": str(c.settings.home), "CRMOS__STORE__URL": c.settings.store.url}
    done = CliRunner().invoke(cli, ["dsr", "access", f"user_id:{USER_ID}", "--out", str(out)],
                              env=env)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert NAME in out.read_text(encoding="utf-8")
    binary = c.settings.home / "scan.bin"
    binary.write_bytes(b"\xff\xfe\x00" + EMAIL.encode() + b"\x00\xff")
    erased = _erase(world, EMAIL)
    assert erased["status"] == "incomplete" and "files" in erased["reason"]
    outcomes = erased["report"]["stores"]
    [files] = [s for s in outcomes if s["target"] == "files" and s["status"] != "failed"]
    assert files["count"] == 1, "the JSON export was rewritten"
    [why] = [s["detail"] for s in outcomes if s["status"] == "failed"]
    assert "scan.bin" in why
    assert "erased:" in out.read_text(encoding="utf-8")
    assert leftovers(c) == [str(binary.resolve())]


class Picky(Consumer):
    """A consumer whose error quotes the value it refused, as validators' messages do."""

    name = "picky"

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        for event in events:
            email = (event.body.get("traits") or {}).get("email")
            if email:
                raise ValueError(f"{email} is not on the allow list")


def test_a_consumer_that_fails_on_the_persons_event_logs_no_personal_data(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    c = world.container
    identify(world.api, world.basic)
    drain(c)
    caplog.set_level(logging.DEBUG)
    StreamRunner(c.engine, c.log, c.reader, [Picky()]).run_once()
    assert failures(c), "the failure is recorded in the store"
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "picky" in logged and "ValueError" in logged
    for needle in (EMAIL, NAME, USER_ID):
        assert needle not in logged
    report = report_of(_erase(world, EMAIL))
    assert stores(report)["stream_failures"]["count"] == 1
    assert leftovers(c) == []


def failures(c: Container) -> list[Any]:
    with c.engine.connect() as conn:
        return list(conn.execute(select(stream_failures)).all())


def test_every_table_keyed_by_a_profile_is_named_in_a_data_map(container: Container) -> None:
    named = {t for room in container.compliance.dsr.rooms for t in room.data_map.tables()}
    kept_as_proof = {"consents", "dsr_requests", "legal_holds", "complaints"}
    keyed = {
        t.name
        for t in metadata.sorted_tables
        if {"profile_id", "subject_profile_id", "user_id", "survivor_id"} & set(t.c.keys())
    }
    assert keyed - named - kept_as_proof == set()
    assert container.compliance.dsr.rooms[-1].data_map.room == "files"
