"""Playbooks on the store (SQLite and PostgreSQL): versions, firings, state, timers, dry-run."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from crmos.bootstrap import Container, build
from crmos.core.errors import Conflict, ValidationError
from crmos.core.settings import Settings
from crmos.store import create_store_engine, decisions_of, migrate, set_offset
from crmos.store.tables import stream_offsets
from crmos.store.tables_playbooks import playbook_firings, playbook_versions
from crmos.store.tables_records import audit_log
from tests.integration.playbook_support import example, identify, ingest, track, view
from tests.polling import wait_until

RENEWAL = example("renewal_risk.yaml")
DAY_MS = 86_400_000


@pytest.fixture
def ws(container: Container) -> str:
    workspace, _, _ = container.workspaces.create("acme")
    return workspace.id


def test_publish_show_at_diff_and_rollback_keep_every_version_by_hash(
    container: Container, ws: str
) -> None:
    pb = container.playbooks
    first = pb.publish(ws, RENEWAL, "ops@acme", "first")
    with pytest.raises(Conflict):
        pb.publish(ws, RENEWAL + "\n# same logic, a comment\n", "ops@acme", "again")
    second = pb.publish(ws, RENEWAL.replace("at_least: 3", "at_least: 4"), "ops@acme", "stricter")
    assert first.hash != second.hash
    assert pb.in_force(ws, "renewal-risk", first.activated_ms).hash == first.hash
    assert pb.in_force(ws, "renewal-risk").hash == second.hash
    assert "-          at_least: 3\n+          at_least: 4" in pb.diff(
        ws, first.hash[:8], second.hash
    )
    back = pb.rollback(ws, "renewal-risk", "ops@acme")
    assert back.hash == first.hash
    assert [v.hash for v in pb.history(ws, "renewal-risk")] == [first.hash, second.hash]
    with container.engine.connect() as conn:
        actions = conn.execute(
            select(audit_log.c.action)
            .where(audit_log.c.workspace_id == ws)
            .order_by(audit_log.c.position)
        ).scalars()
        assert list(actions) == ["playbook.publish", "playbook.publish", "playbook.rollback"]
        stored = conn.execute(select(playbook_versions.c.source)).scalars().all()
    assert sorted(stored) == sorted([RENEWAL, RENEWAL.replace("at_least: 3", "at_least: 4")])


def test_a_window_longer_than_the_retention_is_refused(container: Container) -> None:
    with pytest.raises(ValidationError) as caught:
        container.playbooks.validate(RENEWAL.replace("within: 3d", "within: 400d"))
    assert "retention" in caught.value.problems[0].message


def test_the_third_view_fires_once_with_a_decision_that_names_the_version(
    container: Container, ws: str
) -> None:
    version = container.playbooks.publish(ws, RENEWAL, "ops@acme", "first")
    ingest(container, ws, identify("u1", email="b@acme.test"), view("u1", 70), view("u1", 44))
    assert container.playbooks.firings(ws) == []
    ingest(container, ws, view("u1", 3), view("u1", 2))
    [firing] = container.playbooks.firings(ws)
    assert firing["status"] == "started" and firing["run_id"].startswith("run_")
    assert firing["event_id"] == "pv-u1-3-/renewal/compare"
    with container.engine.connect() as conn:
        [decision] = decisions_of(conn, ws, firing["profile_id"])
    assert decision.version == version.hash and decision.rule == "playbook:renewal-risk"
    assert len(decision.event_ids) == 3
    run = container.runs.get(ws, firing["run_id"]).run
    assert run.name == f"playbook:renewal-risk@{version.hash[:12]}"


def test_the_same_event_never_starts_the_same_playbook_twice(container: Container, ws: str) -> None:
    container.playbooks.publish(ws, RENEWAL, "ops@acme", "first")
    ingest(container, ws, identify("u1"), view("u1", 70), view("u1", 44), view("u1", 3))
    fresh = build(container.settings)  # a restarted process replays the same events
    try:
        with fresh.engine.begin() as conn:
            set_offset(conn, "triggers", 0)
        assert fresh.stream.run_once() == 4  # only the trigger consumer was behind
        fresh.playbooks.launcher.launch()
    finally:
        fresh.close()
    assert len(container.playbooks.firings(ws)) == 1
    assert len(container.runs.find(ws)) == 1


def test_window_state_survives_a_restart(container: Container, ws: str) -> None:
    container.playbooks.publish(ws, RENEWAL, "ops@acme", "first")
    ingest(container, ws, identify("u1"), view("u1", 70), view("u1", 44))
    restarted = build(container.settings)
    try:
        ingest(restarted, ws, view("u1", 3))
        assert [f["status"] for f in restarted.playbooks.firings(ws)] == ["started"]
    finally:
        restarted.close()


def test_a_submitted_form_keeps_the_renewal_playbook_quiet(container: Container, ws: str) -> None:
    container.playbooks.publish(ws, RENEWAL, "ops@acme", "first")
    ingest(
        container, ws, identify("c1"), view("c1", 100), view("c1", 80),
        track("c1", "Renewal Form Submitted", 51), view("c1", 50),
    )  # fmt: skip
    assert container.playbooks.firings(ws) == []


ABSENCE = """
id: unpaid-invoice
description: No payment within a day of the invoice
trigger:
  pattern:
    absent:
      event: Invoice Paid
      within: 1d
      after: {event: {event: Invoice Sent}}
steps:
  - {id: remind, component: notify.email, with: {subject: Reminder, text: Please pay.}}
"""


def test_an_absence_timer_survives_a_restart_and_fires_when_the_window_closes(
    container: Container, ws: str
) -> None:
    container.playbooks.publish(ws, ABSENCE, "ops@acme", "first")
    ingest(container, ws, identify("u1"), track("u1", "Invoice Sent", 2))
    ingest(
        container,
        ws,
        identify("u2"),
        track("u2", "Invoice Sent", 2),
        track("u2", "Invoice Paid", 1),
    )
    assert container.playbooks.tick() == []
    restarted = build(container.settings)
    try:
        later = restarted.playbooks.clock() + DAY_MS
        restarted.playbooks.consumer.clock = lambda: later
        [run_id] = restarted.playbooks.tick()
        [firing] = restarted.playbooks.firings(ws)
        assert firing["run_id"] == run_id and firing["event_id"].startswith("timer:")
    finally:
        restarted.close()


def test_dry_run_counts_firings_per_profile_and_variant_without_side_effects(
    container: Container, ws: str
) -> None:
    ingest(container, ws, identify("u1"), view("u1", 70), view("u1", 44), view("u1", 3))
    ingest(container, ws, identify("u2"), view("u2", 70), view("u2", 3))
    text = RENEWAL.replace("steps:", "experiment: {variants: {a: 50, b: 50}}\nsteps:")
    report = container.playbooks.dry_run(ws, text, since_ms=0)
    assert report.fired == 1 and sum(report.variants.values()) == 1
    assert report.events_scanned == 7
    assert container.playbooks.firings(ws) == []


APPROVAL = RENEWAL.replace("steps:", "approval: {policy: required_above, impact: low}\nsteps:")


def test_a_playbook_above_the_approval_impact_waits_for_a_person(
    container: Container, ws: str
) -> None:
    container.playbooks.publish(ws, APPROVAL, "ops@acme", "needs approval")
    ingest(container, ws, identify("u1"), view("u1", 70), view("u1", 44), view("u1", 3))
    [firing] = container.playbooks.firings(ws)
    assert firing["status"] == "awaiting_approval" and "director_alert" in firing["reason"]
    approved = container.playbooks.approve(ws, firing["id"], "director@acme")
    assert approved["status"] == "started"
    with pytest.raises(Conflict):
        container.playbooks.approve(ws, firing["id"], "director@acme")


def test_firings_left_starting_by_a_crash_are_settled_and_each_run_starts_once(
    container: Container, ws: str
) -> None:
    container.playbooks.publish(ws, APPROVAL, "ops@acme", "needs approval")
    for user in ("u1", "u2"):
        ingest(container, ws, identify(user), view(user, 70), view(user, 44), view(user, 3))
    written, lost = container.playbooks.firings(ws)
    run_id = container.playbooks.approve(ws, written["id"], "director@acme")["run_id"]
    f = playbook_firings.c
    with container.engine.begin() as conn:  # a crash after the claim: no run id recorded
        conn.execute(
            update(playbook_firings)
            .where(f.id.in_([written["id"], lost["id"]]))
            .values(status="starting", run_id=None, started_ms=1)
        )
    launcher = container.playbooks.launcher
    assert launcher.recover() == 2
    assert container.playbooks.firing(ws, written["id"])["run_id"] == run_id
    assert container.playbooks.firing(ws, lost["id"])["status"] == "pending"
    [second] = launcher.launch()
    assert {r.id for r in container.runs.find(ws)} == {run_id, second}
    assert launcher.recover() == 0


def test_upgrading_hands_the_events_the_old_trigger_cursor_had_not_reached_to_the_stream(
    settings: Settings,
) -> None:
    engine = create_store_engine(settings.store)
    try:
        migrate(engine, "0012")
        with engine.begin() as conn:
            for consumer, seq in (("triggers", 40), ("triggers.cursor", 25), ("identity", 40)):
                set_offset(conn, consumer, seq)
            set_offset(conn, "playbook-launcher", 40)
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(stream_offsets.c.consumer, stream_offsets.c.seq)).all()
    finally:
        engine.dispose()
    offsets = {str(consumer): int(seq) for consumer, seq in rows}
    assert offsets == {"triggers": 25, "identity": 40}


def test_a_firing_whose_run_is_refused_is_marked_failed_and_the_others_still_start(
    container: Container, ws: str
) -> None:
    container.playbooks.publish(ws, RENEWAL, "ops@acme", "first")
    refused: list[str] = []

    def start(workspace_id: str, request: dict[str, Any], origin: str) -> str:
        if not refused:  # the sagas engine refuses the first run of the batch
            refused.append(request["profile_id"])
            raise ValidationError("run refused", [])
        return container.runs.start(workspace_id, request, origin=origin).id

    container.playbooks.connect(start)
    messages = [m for u in ("u1", "u2") for m in (identify(u), *(view(u, h) for h in (70, 44, 3)))]
    ingest(container, ws, *messages)
    status = {f["profile_id"]: (f["status"], f["run_id"]) for f in container.playbooks.firings(ws)}
    assert status.pop(refused[0]) == ("failed", None)
    [(state, run_id)] = status.values()
    assert state == "started" and container.runs.get(ws, run_id).run.id == run_id


def test_the_stream_thread_starts_the_run_as_soon_as_the_firing_commits(
    container: Container, ws: str
) -> None:
    container.playbooks.publish(ws, RENEWAL, "ops@acme", "first")
    container.stream.start()  # no launcher thread: the stream's commit hook starts the run
    try:
        messages = [identify("u1"), view("u1", 70), view("u1", 44), view("u1", 3)]
        lines = [orjson.dumps(m) for m in messages]
        list(container.ingest().ingest_lines(ws, "test", lines))

        def started() -> bool:
            return [f["status"] for f in container.playbooks.firings(ws)] == ["started"]

        wait_until(started, 10, "the firing's run to start")
    finally:
        container.stream.close()
