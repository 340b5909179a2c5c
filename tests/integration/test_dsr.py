"""Data-subject requests on SQLite and PostgreSQL: erasure reaches every copy, with proof."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from crmos.bootstrap import Container
from crmos.compliance.counterpart import ErasureCounterpart
from crmos.core.errors import NotFound, ValidationError
from crmos.store import EventQuery, decisions_of, verify_audit
from crmos.store.tables import events, subject_keys
from crmos.store.tables_records import audit_log

HANS = {
    "email": "hans.mueller@example.de",
    "name": "Hans Müller",
    "country": "DE",
    "phone": "+49 30 1234567",
    "locale": "de-DE",
}


def ingest(container: Container, ws: str, *messages: dict[str, Any]) -> None:
    lines = [orjson.dumps(m) for m in messages]
    for report in container.ingest().ingest_lines(ws, "web", lines):
        assert not report.problems, report.problems
    container.stream.run_once()


@pytest.fixture
def systems() -> Iterator[list[ErasureCounterpart]]:
    with (
        ErasureCounterpart("erp") as erp,
        ErasureCounterpart("mailer") as mailer,
        ErasureCounterpart("crm") as crm,
    ):
        yield [erp, mailer, crm]


def setup_hans(container: Container, systems: list[ErasureCounterpart]) -> str:
    ws, _, _ = container.workspaces.create("acme")
    downstream = [{"name": s.name, "kind": "webhook", "url": s.url} for s in systems]
    container.compliance.settings.put(ws.id, {"packs": ["gdpr"], "downstream": downstream}, "t")
    for system, value, count in zip(
        systems, ("hans.mueller@example.de", "hans-42"), (3, 1), strict=False
    ):
        system.hold(value, count)
    ingest(
        container,
        ws.id,
        {"type": "page", "anonymousId": "anon-7", "name": "Pricing", "messageId": "a1"},
        {
            "type": "identify",
            "userId": "hans-42",
            "anonymousId": "anon-7",
            "traits": HANS,
            "messageId": "m1",
        },
        *[
            {
                "type": "track",
                "userId": "hans-42",
                "event": "Viewed",
                "messageId": f"t{i}",
                "properties": {"email": HANS["email"], "sku": i},
            }
            for i in range(20)
        ],
        {"type": "track", "userId": "someone-else", "event": "Viewed", "messageId": "o1"},
    )
    return ws.id


def test_erasure_reaches_every_store_and_system_and_proves_it(
    container: Container, systems: list[ErasureCounterpart]
) -> None:
    ws = setup_hans(container, systems)
    dsr = container.compliance.dsr
    request = dsr.receive(ws, "erasure", ("email", "hans.mueller@example.de"), "api", "test")
    done = dsr.run(ws, request.id)
    assert done.status == "completed", done.reason
    report = done.report or {}
    systems_out = {s["target"]: s for s in report["systems"]}
    assert systems_out["erp"]["status"] == "confirmed" and systems_out["erp"]["count"] == 3
    assert systems_out["mailer"]["status"] == "confirmed"
    assert systems_out["crm"]["status"] == "not_present"
    assert all(s.records == {} for s in systems)
    stores = {s["target"]: s for s in report["stores"]}
    assert stores["events"]["count"] == 22  # identify, 20 tracks and the anonymous page view
    assert stores["subject_keys"]["status"] == "shredded"
    assert stores["profiles"]["status"] == "deleted"
    assert report["verification"]["readable_copies"] == 0
    assert report["verification"]["tables_scanned"] > 10
    with container.engine.connect() as conn:
        left = conn.execute(select(events.c.user_id).where(events.c.workspace_id == ws)).scalars()
        assert list(left) == ["someone-else"]
        keys = conn.execute(select(subject_keys.c.subject, subject_keys.c.wrapped)).all()
        assert not [k for k in keys if "hans-42" in k.subject or "anon-7" in k.subject]
        assert len([k for k in keys if k.wrapped is None]) == stores["subject_keys"]["count"] >= 1
        assert list(verify_audit(conn, ws)) == []


def test_the_audit_trail_of_an_erasure_survives_it_pseudonymised(
    container: Container, systems: list[ErasureCounterpart]
) -> None:
    ws = setup_hans(container, systems)
    dsr = container.compliance.dsr
    done = dsr.run(ws, dsr.receive(ws, "erasure", ("user_id", "hans-42"), "api", "t").id)
    with container.engine.connect() as conn:
        trail = conn.execute(
            select(audit_log.c.action, audit_log.c.subject, audit_log.c.details).where(
                audit_log.c.workspace_id == ws, audit_log.c.subject == done.profile_id
            )
        ).all()
        decisions = decisions_of(conn, ws, done.profile_id)
    actions = [row.action for row in trail]
    assert actions[0] == "dsr.received" and actions[-1] == "dsr.completed"
    assert actions.count("dsr.step") >= 5
    text = orjson.dumps([list(r) for r in trail]).decode()
    assert "hans" not in text.lower() and "example.de" not in text
    assert [d.kind for d in decisions] == ["compliance.dsr.erasure"]


def test_a_legal_hold_blocks_erasure_with_its_reason_until_released(
    container: Container, systems: list[ErasureCounterpart]
) -> None:
    ws = setup_hans(container, systems)
    comp, dsr = container.compliance, container.compliance.dsr
    first = dsr.receive(ws, "erasure", ("user_id", "hans-42"), "api", "t")
    hold = comp.hold(ws, first.profile_id, "HGB §257: invoices are kept 10 years", "t")
    blocked = dsr.run(ws, first.id)
    assert blocked.status == "blocked"
    assert "HGB §257" in (blocked.reason or "")
    assert container.reader.events(EventQuery(ws, user_id="hans-42"))  # nothing was erased
    assert systems[0].received == []
    comp.release(ws, hold["id"], "t")
    again = dsr.run(ws, dsr.receive(ws, "erasure", ("user_id", "hans-42"), "api", "t").id)
    assert again.status == "completed"


def test_a_request_for_an_unknown_subject_is_refused_clearly(container: Container) -> None:
    ws, _, _ = container.workspaces.create("acme")
    dsr = container.compliance.dsr
    with pytest.raises(NotFound, match="data subject"):
        dsr.receive(ws.id, "erasure", ("user_id", "nobody-here"), "api", "t")
    with pytest.raises(ValidationError, match="unknown request kind"):
        dsr.receive(ws.id, "forget", ("user_id", "x"), "api", "t")
    with container.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0


def test_an_unreachable_system_leaves_the_erasure_incomplete_and_says_which(
    container: Container,
) -> None:
    with ErasureCounterpart("erp", failing=True) as erp:
        ws = setup_hans(container, [erp])
        dsr = container.compliance.dsr
        done = dsr.run(ws, dsr.receive(ws, "erasure", ("user_id", "hans-42"), "api", "t").id)
    assert done.status == "incomplete"
    assert "not confirmed by: erp" in (done.reason or "")
    assert done.report and done.report["verification"]["readable_copies"] == 0


def test_access_exports_everything_held_including_decision_records(
    container: Container, systems: list[ErasureCounterpart]
) -> None:
    ws = setup_hans(container, systems)
    comp, dsr = container.compliance, container.compliance.dsr
    first = dsr.receive(ws, "access", ("user_id", "hans-42"), "api", "t")
    comp.check_marketing(ws, first.profile_id, "marketing", "email")  # blocked: a Decision
    done = dsr.run(ws, first.id)
    assert done.status == "completed"
    data = dsr.export(ws, done.id)
    assert data["traits"]["email"] == HANS["email"]
    assert len(data["events"]) == 22
    assert any(e.get("traits", {}).get("name") == "Hans Müller" for e in data["events"])
    assert any(d["kind"] == "compliance.marketing_blocked" for d in data["decisions"])
    assert {"user_id", "email"} <= {i["type"] for i in data["identifiers"]}


def test_opt_out_withdraws_consent_and_marketing_is_then_blocked_with_a_reason(
    container: Container, systems: list[ErasureCounterpart]
) -> None:
    ws = setup_hans(container, systems)
    comp, dsr = container.compliance, container.compliance.dsr
    profile = dsr.receive(ws, "access", ("user_id", "hans-42"), "api", "t").profile_id
    comp.consent(ws, profile, purpose="marketing", channel="email", state="granted", source="form")
    assert comp.check_marketing(ws, profile, "marketing", "email").allowed
    assert not comp.check_marketing(ws, profile, "marketing", "sms").allowed
    done = dsr.run(ws, dsr.receive(ws, "opt_out", ("user_id", "hans-42"), "api", "t").id)
    assert done.status == "completed"
    verdict = comp.check_marketing(ws, profile, "marketing", "email")
    assert not verdict.allowed
    assert "withdrawn" in verdict.reason and verdict.decision_id


def test_rectification_corrects_traits_through_the_intake_validators(
    container: Container, systems: list[ErasureCounterpart]
) -> None:
    ws = setup_hans(container, systems)
    comp = container.compliance
    comp.settings.patch(ws, {"validators": {"cpf": "br.cpf"}}, "t")
    with pytest.raises(ValidationError) as caught:
        comp.dsr.rectify(ws, ("user_id", "hans-42"), {"cpf": "123.456.789-00"}, "t")
    assert caught.value.problems[0].path == "line[1].traits.cpf"
    done = comp.dsr.rectify(ws, ("user_id", "hans-42"), {"name": "Hans Mueller"}, "t")
    assert done.status == "completed" and done.report and done.report["traits"] == ["name"]
    container.stream.run_once()
    latest = container.reader.events(EventQuery(ws, user_id="hans-42", type="identify"))
    assert latest[-1].body["traits"] == {"name": "Hans Mueller"}


def test_a_person_identity_never_placed_is_found_and_erased_through_the_event_log(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("acme")
    lines = [
        orjson.dumps({"type": "identify", "userId": "late-7", "traits": HANS, "messageId": "x1"}),
        orjson.dumps({"type": "track", "userId": "late-7", "event": "Viewed", "messageId": "x2"}),
    ]
    list(container.ingest().ingest_lines(ws.id, "web", lines))  # the stream has not run yet
    dsr = container.compliance.dsr
    request = dsr.receive(ws.id, "erasure", ("user_id", "late-7"), "api", "t")
    assert request.profile_id.startswith("sub_") and "late-7" not in request.profile_id
    assert request.regions == ("DE",) and request.locale == "de_DE"
    done = dsr.run(ws.id, request.id)
    assert done.status == "completed", done.reason
    assert done.report and done.report["verification"]["readable_copies"] == 0
    assert set(done.letters or {}) == {"de", "en"}


def test_the_cli_erases_a_person_and_refuses_an_unknown_one(container: Container) -> None:
    from typer.testing import CliRunner

    from crmos.cli.main import app

    ws, _, _ = container.workspaces.create("acme")
    ingest(
        container, ws.id, {"type": "identify", "userId": "cli-1", "traits": HANS, "messageId": "c1"}
    )
    env = {
        "CRMOS__HOME": str(container.settings.home),
        "CRMOS__STORE__URL": container.settings.store.url,
    }
    runner = CliRunner()
    done = runner.invoke(app, ["dsr", "erase", "email:hans.mueller@example.de", "--json"], env=env)
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    assert result["report"]["verification"]["readable_copies"] == 0
    unknown = runner.invoke(app, ["dsr", "erase", "user_id:nobody"], env=env)
    assert unknown.exit_code == 66
    malformed = runner.invoke(app, ["dsr", "erase", "nobody"], env=env)
    assert malformed.exit_code == 65
