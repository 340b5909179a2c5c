"""The durable workflow of a run, on DBOS.

DBOS checkpoints the output of every step (attempt, backoff sleep, awaited message) in its
system database; after a crash, a process with the same executor id replays the workflow, which
skips every checkpointed step and re-runs the one that was interrupted, with the same
idempotency key. So each step's side effect happens once at the target, however often the
worker dies.

DBOS is a process singleton and finds workflows by name, so this module keeps the one engine
runtime of the process in a module slot (:func:`install`); nothing else here is global.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbos import DBOS, StepOptions
from dbos._error import DBOSException
from opentelemetry import trace

from crmos.core.errors import StoreError
from crmos.sagas.bodies import Bodies, Runtime
from crmos.sagas.dispatch import REPAIR_WORKFLOW, WORKFLOW, outcome_topic
from crmos.sagas.model import TERMINAL, Plan, StepPlan
from crmos.sagas.runner import UNCERTAIN, Position, RunRef
from crmos.sagas.tracing import mark, remote_parent

_slot: list[Runtime] = []


def install(runtime: Runtime | None) -> None:
    """Make ``runtime`` the one the workflows of this process use (None: none)."""
    _slot.clear()
    if runtime is not None:
        _slot.append(runtime)


def _runtime() -> Runtime:
    if not _slot:
        raise RuntimeError("the saga engine is not started in this process")
    return _slot[0]


@DBOS.workflow(name=WORKFLOW)
def run_workflow(run_id: str, head: dict[str, Any] | None = None) -> str:
    """Execute run ``run_id`` to its end; returns its final status.

    ``head`` (plan, trace and workspace) comes with the queued run; without it (a run queued
    again after a crash of its submitter) it is read from the journal.
    """
    return Execution(_runtime(), run_id).run(head)


@DBOS.workflow(name=REPAIR_WORKFLOW)
def repair_workflow(run_id: str) -> str:
    """Retry the compensations a run that needs attention still lacks."""
    return Execution(_runtime(), run_id).repair()


def _store_retry(error: BaseException) -> bool:
    return isinstance(error, StoreError)


def _opts(name: str) -> StepOptions:
    """Step options: store hiccups (a locked SQLite file, a dropped connection) are retried."""
    return {
        "name": name,
        "retries_allowed": True,
        "max_attempts": 6,
        "interval_seconds": 0.1,
        "backoff_rate": 2.0,
        "should_retry": _store_retry,
    }


@dataclass(frozen=True, slots=True)
class Stop:
    """Why the forward part of a run stopped early."""

    kind: str  # failed | cancelled
    step_id: str | None
    reason: str


class Execution(Bodies):
    """One execution (or replay) of a run's workflow."""

    def __init__(self, runtime: Runtime, run_id: str) -> None:
        super().__init__(runtime, run_id)
        self.done: list[str] = []
        self.uncertain: str | None = None
        self.completed = False  # the last step's own commit completed the run

    def _step(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        return DBOS.run_step(_opts(name), fn, *args)

    def run(self, head: dict[str, Any] | None) -> str:
        """The forward steps, then (when one failed or the run was cancelled) compensation."""
        if head is None:
            head = self._step("start", self._start)
        if head is None or head["status"] in TERMINAL:
            return "missing" if head is None else str(head["status"])
        plan = Plan.from_data(head["plan"])
        with self._run_span(head, plan) as span:
            try:
                stop = self._forward(plan)
                status, reason = self._settle(plan, stop)
            except DBOSException:
                raise
            except Exception as exc:
                # Never leave a run looking alive when the engine itself failed.
                why = f"the engine failed: {type(exc).__name__}: {exc}"
                self._step("engine-error", self._finish, "needs_attention", why, None)
                raise
            mark(span, "ok" if status == "completed" else status, reason)
        return status

    def repair(self) -> str:
        """Compensate what a run that needs attention left undone; its new final status."""
        head = self._step("load", self._load_for_repair)
        if head is None:
            return "missing"
        plan = Plan.from_data(head["plan"])
        self.results = head["results"]
        with self._run_span(head, plan, "saga.repair") as span:
            failures = [
                f
                for step_id in head["pending"]
                if (f := self._undo_one(plan.step(step_id), head["unknown"].get(step_id, False)))
            ]
            status = "needs_attention" if failures else head["settled_status"]
            reason = _reason(head["reason"] or "", failures)
            self._step("finish", self._finish, status, reason, head["failed_step"])
            mark(span, status, reason)
        return status

    def _run_span(self, head: dict[str, Any], plan: Plan, name: str = "saga.run") -> Any:
        parent = remote_parent(head["trace_id"], head["parent_span_id"])
        tracing = self.rt.runner.tracing
        span_cm = tracing.span(f"{name} {plan.name}", parent, **{"crmos.run.id": self.run_id})
        return _Bound(span_cm, self, head["workspace_id"], plan)

    # -- forward ---------------------------------------------------------------------------

    def _forward(self, plan: Plan) -> Stop | None:
        for index, step in enumerate(plan.steps):
            if (step.when or step.unless) and not self._step(f"{step.id}?", self._decide, step):
                continue
            closing = index == len(plan.steps) - 1 and step.await_outcome is None
            outcome = self._execute(step, opening=index == 0, closing=closing)
            status = outcome["status"]
            if status != "ok":
                if status in UNCERTAIN or (
                    status == "permanent" and self._step(f"{step.id}:doubt", self._doubt, outcome)
                ):
                    self.uncertain = step.id
                if status == "cancelled":
                    return Stop("cancelled", None, "cancelled before it started")
                if outcome.get("cancel"):
                    return Stop("cancelled", step.id, f"cancelled during step '{step.id}'")
                why = f"step '{step.id}' ({step.action}) failed: {outcome['error']}"
                return Stop("failed", step.id, why)
            self.results[step.id] = outcome["result"]
            self.done.append(step.id)
            if outcome.get("completed"):
                self.completed = True
                return None
            if outcome.get("cancel"):
                return Stop("cancelled", step.id, f"cancelled after step '{step.id}'")
            if step.await_outcome is not None and (stop := self._await(step)) is not None:
                return stop
        return None

    def _execute(
        self,
        step: StepPlan,
        first: int = 1,
        attempts: int | None = None,
        replay: bool = False,
        opening: bool = False,
        closing: bool = False,
    ) -> Any:
        """Attempts of ``step`` with exponential backoff between transient failures.

        A cancellation ends the attempts early, except in a replay made to compensate.
        """
        last_attempt = first - 1 + (attempts or step.retry.max_attempts)
        attempt = first
        while True:
            at = Position(opening and attempt == 1, closing, attempt >= last_attempt)
            outcome = self._step(
                f"{step.id}#{attempt}",
                self.rt.runner.execute,
                self.ref,
                step,
                attempt,
                dict(self.results),
                at,
            )
            cancelled = outcome.get("cancel") and not replay
            # In a replay a refusal proves nothing yet: the earlier attempt it follows may have
            # been applied, and a later answer under the same key will say so.
            again = outcome["status"] in UNCERTAIN or (replay and outcome["status"] == "permanent")
            if not again or at.last or cancelled:
                return outcome
            DBOS.sleep(step.retry.delay(attempt - first + 1))
            attempt += 1

    def _await(self, step: StepPlan) -> Stop | None:
        assert step.await_outcome is not None
        if self._step(f"{step.id}:wait", self._begin_wait, step.id):
            return Stop("cancelled", step.id, f"cancelled while step '{step.id}' awaited")
        message = DBOS.recv(outcome_topic(step.id), timeout_seconds=step.await_outcome.timeout_s)
        status = self._step(f"{step.id}:outcome", self._record_outcome, step.id, message)
        if status == "cancelled":
            return Stop("cancelled", step.id, f"cancelled while step '{step.id}' awaited")
        if status in step.await_outcome.fail_on:
            return Stop("failed", step.id, f"step '{step.id}' reported outcome '{status}'")
        return None

    # -- compensation ----------------------------------------------------------------------

    def _settle(self, plan: Plan, stop: Stop | None) -> tuple[str, str | None]:
        if stop is None:
            if not self.completed:
                self._step("finish", self._finish, "completed", None, None)
            return "completed", None
        self._step("compensating", self._finish, "compensating", stop.reason, stop.step_id)
        order = list(reversed(self.done))
        if self.uncertain is not None:
            order.insert(0, self.uncertain)
        failures = [
            f for sid in order if (f := self._undo_one(plan.step(sid), sid == self.uncertain))
        ]
        settled = "cancelled" if stop.kind == "cancelled" else "compensated"
        status = "needs_attention" if failures else settled
        reason = _reason(stop.reason, failures)
        self._step("finish", self._finish, status, reason, stop.step_id)
        return status, reason

    def _undo_one(self, step: StepPlan, uncertain: bool) -> str | None:
        """Undo one step; a message when that failed (None when done or nothing to undo)."""
        if not step.compensate.enabled:
            self._step(f"{step.id}~none", self._not_compensable, step.id)
            return None
        if uncertain:
            # Its last attempt failed without an answer: replaying it under the same key
            # returns what the target did (or does it now), so there is a result to undo.
            first = step.retry.max_attempts + 1
            replayed = self._execute(step, first, self.rt.compensation_attempts, replay=True)
            if replayed["status"] == "permanent":
                return None
            if replayed["status"] != "ok":
                self._step(f"{step.id}~unknown", self._unknown, step.id, replayed["error"])
                return f"step '{step.id}': its effect is unknown ({replayed['error']})"
            self.results[step.id] = replayed["result"]
        return self._compensate(step)

    def _compensate(self, step: StepPlan) -> str | None:
        attempts = self.rt.compensation_attempts
        for attempt in range(1, attempts + 1):
            outcome = self._step(
                f"{step.id}~undo#{attempt}",
                self.rt.runner.compensate,
                self.ref,
                step,
                attempt,
                dict(self.results),
            )
            if outcome["status"] == "ok":
                return None
            if outcome["status"] not in UNCERTAIN or attempt == attempts:
                return f"compensating step '{step.id}' failed: {outcome['error']}"
            DBOS.sleep(step.retry.delay(attempt))
        return None  # pragma: no cover - the loop always returns


class _Bound:
    """The run's span, with the run reference bound to it while it is open."""

    def __init__(self, span_cm: Any, execution: Execution, workspace_id: str, plan: Plan) -> None:
        self._cm = span_cm
        self._execution = execution
        self._workspace_id = workspace_id
        self._plan = plan

    def __enter__(self) -> Any:
        span = self._cm.__enter__()
        parent = trace.set_span_in_context(span)
        self._execution.ref = RunRef(self._execution.run_id, self._workspace_id, self._plan, parent)
        return span

    def __exit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)


def _reason(reason: str, failures: list[str]) -> str:
    if not failures:
        return reason
    return f"{reason}; compensation incomplete: " + "; ".join(failures)
