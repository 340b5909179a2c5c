"""The bodies of a run's bookkeeping steps: what they write to the journal, and return.

DBOS checkpoints what each returns, so a replay after a crash skips those that finished; each
is written to be repeatable (a step interrupted before its checkpoint runs again).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from dbos import DBOS

from crmos.core.clock import now_ms
from crmos.sagas.journal import Journal
from crmos.sagas.model import TERMINAL, Plan, StepPlan, truthy
from crmos.sagas.runner import RunRef, StepRunner
from crmos.sagas.views import Choice, Entry, dumps


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the workflows of this process run with."""

    journal: Journal
    runner: StepRunner
    executor_id: str
    compensation_attempts: int


class Bodies:
    """Step bodies shared by the run and repair workflows of one run."""

    def __init__(self, runtime: Runtime, run_id: str) -> None:
        self.rt = runtime
        self.run_id = run_id
        self.results: dict[str, Any] = {}
        self.ref: RunRef

    def _start(self) -> dict[str, Any] | None:
        loaded = self.rt.journal.load(self.run_id)
        if loaded is None:
            return None
        info, plan, parent_span_id = loaded
        status = info.status
        if info.cancel_requested and status == "queued":
            status = "cancelled"
            self.rt.journal.set_status(self.run_id, status, reason="cancelled before it started")
        elif status not in TERMINAL:
            self.rt.journal.start(self.run_id, self.rt.executor_id)
        return {
            "status": status,
            "plan": plan.to_data(),
            "trace_id": info.trace_id,
            "parent_span_id": parent_span_id,
            "workspace_id": info.workspace_id,
        }

    def _load_for_repair(self) -> dict[str, Any] | None:
        detail = self.rt.journal.detail(self.run_id)
        if detail is None:
            return None
        run = detail.run
        results = {s.step_id: s.result for s in detail.steps if s.result is not None}
        pending = [
            s.step_id
            for s in sorted(detail.steps, key=lambda s: -s.position)
            if s.compensation in ("compensation_failed", "unknown")
        ]
        unknown = {s.step_id: True for s in detail.steps if s.compensation == "unknown"}
        return {
            "plan": detail.plan.to_data(),
            "trace_id": run.trace_id,
            "parent_span_id": detail.parent_span_id,
            "workspace_id": run.workspace_id,
            "results": results,
            "pending": pending,
            "unknown": unknown,
            "reason": run.reason,
            "failed_step": run.failed_step,
            "settled_status": "cancelled" if run.cancel_requested else "compensated",
        }

    def _doubt(self, outcome: dict[str, Any]) -> bool:
        """Whether a refused step may still have taken effect: an earlier attempt of it failed
        without an answer, or a process that died may have sent it before this one did."""
        if int(outcome.get("attempt", 1)) > 1:
            return True
        status = DBOS.get_workflow_status(self.run_id)  # inside a step: read, not recorded
        return status is not None and (status.recovery_attempts or 0) > 1

    def _finish(self, status: str, reason: str | None, failed_step: str | None) -> None:
        self.rt.journal.set_status(self.run_id, status, reason=reason, failed_step=failed_step)

    def _decide(self, step: StepPlan) -> bool:
        scope = self.ref.scope(self.results)
        inputs: dict[str, Any] = {}
        for expression in (step.when, step.unless):
            if expression is not None:
                try:
                    inputs[expression] = scope.lookup(expression)
                except KeyError:
                    inputs[expression] = None
        ran = (step.when is None or truthy(inputs[step.when])) and (
            step.unless is None or not truthy(inputs[step.unless])
        )
        plan = self.ref.plan
        choice = Choice(
            run_id=self.run_id,
            workspace_id=self.ref.workspace_id,
            profile_id=plan.profile_id,
            plan_name=plan.name,
            version=_plan_version(plan),
            step_id=step.id,
            action=step.action,
            ran=ran,
            reason=_decision_reason(step, ran, inputs),
            inputs=inputs,
            at_ms=now_ms(),
        )
        self.rt.journal.decide(choice)
        return ran

    def _begin_wait(self, step_id: str) -> bool:
        cancelled = self.rt.journal.begin_step(self.run_id, step_id, "waiting")
        self.rt.journal.set_status(self.run_id, "waiting")
        return cancelled

    def _record_outcome(self, step_id: str, message: Any) -> str:
        if isinstance(message, dict):
            status = str(message.get("status") or "delivered")
            detail = message.get("detail")
            error = None
        else:
            status, detail, error = "unacknowledged", None, "no outcome before the timeout"
        at = now_ms()
        entry = Entry(self.run_id, step_id, "outcome", 1, status, at, 0, error, detail)
        self.rt.journal.record(
            entry,
            {"status": "running"},
            status="done",
            outcome=status,
            outcome_detail=None if detail is None else dumps(detail),
            ended_ms=at,
        )
        return status

    def _not_compensable(self, step_id: str) -> None:
        why = "the step declares no compensation"
        entry = Entry(self.run_id, step_id, "compensate", 1, "skipped", now_ms(), 0, why)
        self.rt.journal.record(entry, compensation="none")

    def _unknown(self, step_id: str, error: str | None) -> None:
        entry = Entry(self.run_id, step_id, "compensate", 1, "unknown", now_ms(), 0, error)
        self.rt.journal.record(entry, compensation="unknown")


def _decision_reason(step: StepPlan, ran: bool, inputs: dict[str, Any]) -> str:
    seen = ", ".join(f"{k} = {v!r}" for k, v in inputs.items())
    verb = "ran" if ran else "skipped"
    rule = " and ".join(
        part
        for part in (
            f"when {step.when}" if step.when else "",
            f"unless {step.unless}" if step.unless else "",
        )
        if part
    )
    return f"{verb} step '{step.id}' ({step.action}) because {rule}; seen: {seen}"


def _plan_version(plan: Plan) -> str:
    return hashlib.sha256(dumps(plan.to_data()).encode()).hexdigest()[:16]
