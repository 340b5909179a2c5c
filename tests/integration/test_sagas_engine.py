"""The run engine on DBOS against a real HTTP counterpart: retries, compensation, recovery paths."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from crmos.bootstrap import Container
from crmos.sagas.testing import EffectServer, Faults, HttpEffect
from crmos.sagas.views import NewRun
from crmos.store import decisions_of
from tests.integration.saga_support import effect, run_to_end, start_fast_engine, wait_until

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def effects() -> Iterator[EffectServer]:
    with EffectServer(Faults()) as server:
        yield server


@pytest.fixture
def engine(container: Container) -> Container:
    return start_fast_engine(container)


@pytest.fixture
def workspace(container: Container) -> str:
    ws, _, _ = container.workspaces.create("acme")
    return ws.id


def four_steps(url: str) -> dict[str, object]:
    return {"name": "four", "steps": [effect(f"s{i}", url) for i in range(1, 5)]}


def test_a_run_executes_its_steps_in_order_and_each_effect_happens_once(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    run = run_to_end(engine, workspace, four_steps(effects.url))

    assert run.status == "completed"
    detail = engine.runs.get(workspace, run.id)
    assert [s.status for s in detail.steps] == ["done"] * 4
    assert [(e.step_id, e.phase, e.attempt, e.status) for e in detail.timeline] == [
        (f"s{i}", "execute", 1, "ok") for i in range(1, 5)
    ]
    assert detail.steps[0].result == {"effect_id": f"{run.id}:s1", "name": "s1", "amount": 1}
    assert effects.duplicates() == 0
    assert sorted(effects.live()) == [f"{run.id}:s{i}" for i in range(1, 5)]


@SQLITE_ONLY
def test_transient_errors_are_retried_with_backoff_under_the_same_idempotency_key(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    effects.faults.script["s2"] = ["transient", "transient"]
    spec = {
        "steps": [
            effect("s1", effects.url),
            effect(
                "s2", effects.url, retry={"max_attempts": 3, "backoff_s": 0.05, "max_backoff_s": 1}
            ),
        ]
    }
    run = run_to_end(engine, workspace, spec)

    assert run.status == "completed"
    rows = [e for e in engine.runs.get(workspace, run.id).timeline if e.step_id == "s2"]
    assert [(e.attempt, e.status) for e in rows] == [(1, "transient"), (2, "transient"), (3, "ok")]
    # exponential backoff: 50 ms after the first failure, 100 ms after the second
    gaps = [b.started_ms - (a.started_ms + a.duration_ms) for a, b in itertools.pairwise(rows)]
    assert gaps[0] >= 45 and gaps[1] >= 95
    assert effects.state()[f"{run.id}:s2"]["applied"] == 1


def test_a_permanent_failure_compensates_exactly_the_finished_steps_in_reverse_order(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    effects.faults.refuse.add("s3")
    run = run_to_end(engine, workspace, four_steps(effects.url))

    assert run.status == "compensated"
    assert run.failed_step == "s3"
    assert "HTTP 422" in (run.reason or "")
    detail = engine.runs.get(workspace, run.id)
    undo = [e.step_id for e in detail.timeline if e.phase == "compensate"]
    assert undo == ["s2", "s1"]
    # a refusal on a first attempt in a first execution is believed: no replay, no undo
    assert [(e.phase, e.status) for e in detail.timeline if e.step_id == "s3"] == [
        ("execute", "permanent")
    ]
    assert [s.status for s in detail.steps] == ["compensated", "compensated", "failed", "pending"]
    assert effects.live() == []
    assert set(effects.state()) == {f"{run.id}:s1", f"{run.id}:s2"}


@SQLITE_ONLY
def test_a_step_that_timed_out_is_replayed_under_its_key_and_then_compensated(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    effects.faults.slow_s = 1.0
    effects.faults.script["s2"] = ["slow"]
    spec = {
        "steps": [
            effect("s1", effects.url),
            effect("s2", effects.url, timeout_s=0.3, retry={"max_attempts": 1}),
            effect("s3", effects.url),
        ]
    }
    run = run_to_end(engine, workspace, spec)

    assert run.status == "compensated"
    assert "no answer within 0.3s" in (run.reason or "")
    rows = [
        (e.step_id, e.phase, e.attempt, e.status)
        for e in engine.runs.get(workspace, run.id).timeline
    ]
    assert rows == [
        ("s1", "execute", 1, "ok"),
        ("s2", "execute", 1, "timeout"),
        ("s2", "execute", 2, "ok"),  # the replay learns what the target did
        ("s2", "compensate", 1, "ok"),
        ("s1", "compensate", 1, "ok"),
    ]
    assert effects.duplicates() == 0
    assert effects.live() == []


@SQLITE_ONLY
def test_a_refusal_after_an_unanswered_attempt_is_doubted_and_the_effect_undone(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    effects.faults.script["s2"] = ["lost", "permanent"]
    spec = {"steps": [effect("s1", effects.url), effect("s2", effects.url)]}
    run = run_to_end(engine, workspace, spec)

    assert run.status == "compensated"
    rows = [
        (e.step_id, e.phase, e.attempt, e.status)
        for e in engine.runs.get(workspace, run.id).timeline
    ]
    assert rows == [
        ("s1", "execute", 1, "ok"),
        ("s2", "execute", 1, "transient"),  # applied, but the answer was lost
        ("s2", "execute", 2, "permanent"),  # refused: proves nothing about attempt 1
        ("s2", "execute", 5, "ok"),  # the replay finds attempt 1's effect
        ("s2", "compensate", 1, "ok"),
        ("s1", "compensate", 1, "ok"),
    ]
    assert effects.live() == []
    assert effects.duplicates() == 0


@SQLITE_ONLY
def test_a_failing_compensation_needs_attention_and_a_retry_repairs_it(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    effects.faults.refuse.add("s3")
    effects.faults.script["undo:s1"] = ["permanent"]
    run = run_to_end(engine, workspace, four_steps(effects.url))

    assert run.status == "needs_attention"
    assert "compensating step 's1' failed" in (run.reason or "")
    assert effects.live() == [f"{run.id}:s1"]
    assert engine.runs.stats(workspace)["runs"] == {"needs_attention": 1}

    engine.runs.retry(workspace, run.id)
    repaired = engine.runs.wait(workspace, run.id, timeout_s=30)

    assert repaired.status == "compensated"
    assert effects.live() == []
    steps = {s.step_id: s.compensation for s in engine.runs.get(workspace, run.id).steps}
    assert steps == {"s1": "compensated", "s2": "compensated", "s3": None, "s4": None}


@SQLITE_ONLY
def test_cancelling_stops_a_run_before_its_next_step_and_undoes_what_it_did(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    effects.faults.slow_s = 0.6
    effects.faults.script["s2"] = ["slow"]
    run = engine.runs.start(workspace, four_steps(effects.url))
    wait_until(lambda: f"{run.id}:s2" in effects.state(), what="s2 to be applied")

    engine.runs.cancel(workspace, run.id)
    ended = engine.runs.wait(workspace, run.id, timeout_s=30)

    assert ended.status == "cancelled"
    assert set(effects.state()) == {f"{run.id}:s1", f"{run.id}:s2"}
    assert effects.live() == []


@SQLITE_ONLY
def test_a_step_awaits_its_outcome_and_an_unacknowledged_one_is_counted(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    spec = {
        "steps": [
            effect("mail", effects.url, await_outcome={"timeout_s": 30}),
            effect("sms", effects.url, await_outcome={"timeout_s": 0.2}),
        ]
    }
    run = engine.runs.start(workspace, spec)
    wait_until(
        lambda: engine.runs.get(workspace, run.id).steps[0].status == "waiting",
        what="the mail step to wait",
    )
    engine.runs.report_outcome(workspace, run.id, "mail", "delivered", {"receipt": "r-1"})
    ended = engine.runs.wait(workspace, run.id, timeout_s=30)

    assert ended.status == "completed"
    mail, sms = engine.runs.get(workspace, run.id).steps
    assert (mail.outcome, mail.outcome_detail) == ("delivered", {"receipt": "r-1"})
    assert sms.outcome == "unacknowledged"
    stats = engine.runs.stats(workspace)
    assert stats["unacknowledged_deliveries"] == 1
    assert stats["outcomes"] == {"delivered": 1, "unacknowledged": 1}


@SQLITE_ONLY
def test_an_outcome_listed_in_fail_on_fails_the_run_and_compensates_it(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    spec = {
        "steps": [
            effect("order", effects.url),
            effect("mail", effects.url, await_outcome={"timeout_s": 30, "fail_on": ["bounced"]}),
        ]
    }
    run = engine.runs.start(workspace, spec)
    engine.runs.report_outcome(workspace, run.id, "mail", "bounced")
    ended = engine.runs.wait(workspace, run.id, timeout_s=30)

    assert ended.status == "compensated"
    assert ended.reason == "step 'mail' reported outcome 'bounced'"
    assert effects.live() == []


def test_when_and_unless_choose_a_branch_recorded_as_a_decision(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    spec = {
        "name": "ticket",
        "profile_id": "prof_1",
        "steps": [
            effect("lookup", effects.url, **{"with": {"amount": 0}}),
            effect("attach", effects.url, when="steps.lookup.amount"),
            effect("dispatch", effects.url, unless="${steps.lookup.amount}"),
        ],
    }
    run = run_to_end(engine, workspace, spec)

    assert run.status == "completed"
    steps = {s.step_id: s.status for s in engine.runs.get(workspace, run.id).steps}
    assert steps == {"lookup": "done", "attach": "skipped", "dispatch": "done"}
    with engine.engine.connect() as conn:
        decisions = decisions_of(conn, workspace, "prof_1")
    assert sorted(d.rule for d in decisions) == ["ticket/attach", "ticket/dispatch"]
    attach = next(d for d in decisions if d.rule == "ticket/attach")
    assert attach.kind == "saga.branch"
    assert attach.inputs == {"steps.lookup.amount": 0}
    assert attach.reason.startswith("skipped step 'attach'")


@SQLITE_ONLY
def test_a_run_written_but_never_queued_is_queued_again_and_executed(
    engine: Container, workspace: str, effects: EffectServer
) -> None:
    plan = engine.runs.validate(four_steps(effects.url))
    run_id = "run_stranded"  # its submitter died between writing it and queueing it
    engine.runs.journal.create(NewRun(run_id, workspace, plan, "0" * 31 + "1", "0" * 15 + "1"))

    assert engine.runs.requeue_stranded(older_than_s=0) == 1
    assert engine.runs.wait(workspace, run_id, timeout_s=30).status == "completed"
    assert len(effects.state()) == 4


@SQLITE_ONLY
def test_a_run_cancelled_while_queued_never_acts(
    container: Container, workspace: str, effects: EffectServer
) -> None:
    container.runs.registry.add(HttpEffect())
    run = container.runs.start(workspace, four_steps(effects.url))
    container.runs.cancel(workspace, run.id)
    start_fast_engine(container)

    ended = container.runs.wait(workspace, run.id, timeout_s=30)
    assert (ended.status, ended.reason) == ("cancelled", "cancelled before it started")
    assert effects.calls == 0
