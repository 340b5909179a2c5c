"""Scenarios 1 and 9 end to end: trigger -> firing -> durable run of sandboxed components
against the ERP simulator, a real SMTP server (aiosmtpd) and a real chat webhook receiver.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from crmos.bootstrap import Container, build
from crmos.connectors.sim import start_simulators
from crmos.core.settings import Settings
from crmos.playbooks import HostRefused
from crmos.store import decisions_of
from tests.integration.connector_support import Recorder, free_port
from tests.integration.playbook_support import example, identify, ingest, track, view
from tests.integration.saga_support import start_fast_engine, wait_until
from tests.integration.sneaky_component import Sneaky

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@dataclass
class Inbox:
    """Keeps what the SMTP server receives."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"


@dataclass
class World:
    container: Container
    workspace: str
    inbox: Inbox
    chat: Recorder


@pytest.fixture
def world(migrated_store_url: str, tmp_path: Path) -> Iterator[World]:
    sims, stop_sims = start_simulators(seed=1)
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    chat = Recorder(answer=b"ok").start()
    hooks = {
        n: {"platform": "slack", "url": f"{chat.url}/{n}"} for n in ("csm", "director", "desk")
    }
    settings = Settings(
        home=tmp_path / "home",
        store={"url": migrated_store_url},
        connectors={
            "base_urls": sims,
            "smtp": {"host": "127.0.0.1", "port": port, "from_address": "CS <cs@acme.example>"},
            "chat_webhooks": hooks,
        },
    )
    container = start_fast_engine(build(settings, migrate_store=True))
    ws, _, _ = container.workspaces.create("acme")
    try:
        yield World(container, ws.id, inbox, chat)
    finally:
        container.close()
        chat.stop()
        smtp.stop()
        stop_sims()


def _ended(world: World, playbook: str) -> dict[str, Any]:
    pb, ws = world.container.playbooks, world.workspace

    def done() -> dict[str, Any] | None:
        fired = [f for f in pb.firings(ws, playbook) if f["run_id"]]
        if not fired:
            return None
        run = world.container.runs.get(ws, fired[0]["run_id"]).run
        return fired[0] | {"run": run} if run.terminal else None

    found: dict[str, Any] = wait_until(done, 30, f"the run of {playbook} to end")
    return found


def test_scenario_1_the_third_view_starts_the_three_actions_within_a_second(world: World) -> None:
    c, ws = world.container, world.workspace
    c.playbooks.publish(ws, example("renewal_risk.yaml"), "revops@acme", "scenario 1")
    buyer = identify("buyer", email="weber@acme.example", name="Ms Weber", company="ACME",
                     customer_id="acme", annual_value=240000)  # fmt: skip
    control = identify("control", email="kim@globex.example", company="Globex")
    ingest(c, ws, buyer, control, view("buyer", 70), view("buyer", 44))
    ingest(
        c,
        ws,
        view("control", 100),
        view("control", 80),
        track("control", "Renewal Form Submitted", 51),
    )
    ingest(c, ws, view("control", 50), view("buyer", 3))
    firing = _ended(world, "renewal-risk")
    assert firing["run"].status == "completed", firing["run"].reason
    assert firing["started_ms"] - firing["created_ms"] < 1000
    [mail] = world.inbox.messages
    assert mail["To"] == "weber@acme.example" and "return on investment" in mail["Subject"]
    assert "Return on investment" in mail.get_body(("plain",)).get_content()
    paths = sorted(seen.path for seen in world.chat.seen)
    assert paths == ["/csm", "/director"]
    with c.engine.connect() as conn:
        [decision] = decisions_of(conn, ws, firing["profile_id"])
    assert decision.version == firing["version_hash"] and len(decision.event_ids) == 3
    assert len(c.playbooks.firings(ws)) == 1  # the control who submitted the form: nothing


def test_scenario_9_insurance_renewal_is_built_only_from_components(world: World) -> None:
    c, ws = world.container, world.workspace
    c.playbooks.publish(ws, example("insurance_renewal.yaml"), "ops@insure", "scenario 9")
    people = [f"holder{i}" for i in range(12)]
    for i, user in enumerate(people):
        ingest(c, ws, identify(user, email=f"{user}@example.de", country="DE", claims=i % 3))
        ingest(c, ws, track(user, "Policy Renewal Due", 1, days_left=20))
    wait_until(lambda: all(f["status"] != "pending" for f in c.playbooks.firings(ws)), 10, "launch")
    fired = c.playbooks.firings(ws)
    assert len(fired) == 12
    assert {f["variant"] for f in fired} <= {"outbound", "holdout"}
    started = [f for f in fired if f["status"] == "started"]
    held = [f for f in fired if f["status"] == "held_out"]
    assert len(started) + len(held) == 12 and started

    def all_ended() -> bool:
        return all(c.runs.get(ws, f["run_id"]).run.terminal for f in started)

    wait_until(all_ended, 60, "every insurance run to end")
    statuses = {c.runs.get(ws, f["run_id"]).run.status for f in started}
    assert statuses == {"completed"}
    bodies = [m.get_body(("plain",)).get_content() for m in world.inbox.messages]
    assert len(bodies) == len(started) and all("Anna Schmidt" in b for b in bodies)


def test_a_component_sees_only_declared_fields_and_an_undeclared_host_is_refused_and_recorded(
    world: World,
) -> None:
    c, ws = world.container, world.workspace
    sneaky = Sneaky()
    c.playbooks.registry.add(sneaky)
    for a in c.playbooks.actions(c.runs.registry.get):
        if a.name == "testing.sneaky":
            c.runs.registry.add(a)
    ingest(c, ws, identify("u1", email="u1@example.com", phone="+4915112345678", company="ACME"))
    text = f"""
id: sneaky
description: tries to leak
trigger: {{pattern: {{event: {{event: Go}}}}}}
steps:
  - {{id: look, component: testing.sneaky}}
  - {{id: leak, component: testing.sneaky, with: {{url: "{world.chat.url}/leak"}}, after: [look]}}
"""
    c.playbooks.publish(ws, text, "mallory", "test")
    ingest(c, ws, track("u1", "Go", 1))
    firing = _ended(world, "sneaky")
    assert firing["run"].status == "compensated"
    steps = {s.step_id: s for s in c.runs.get(ws, firing["run"].id).steps}
    saw = steps["look"].result["saw"]
    assert saw == {"id": firing["profile_id"], "traits": {"email": "u1@example.com"}}
    [refusal] = c.playbooks.refusals(ws)
    assert refusal["component"] == "testing.sneaky" and refusal["host"].startswith("127.0.0.1:")
    assert not any(seen.path == "/leak" for seen in world.chat.seen)
    assert HostRefused.code == "host_refused"
