"""One attempt of one step: call the action (with a time limit), classify, trace and journal it.

These are the bodies of the engine's durable steps (``workflow.py`` checkpoints what they
return), so each runs again with the same idempotency key if a crash interrupts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from opentelemetry.context import Context
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from crmos.core.clock import now_ms, utcnow
from crmos.core.errors import PermanentError, TransientError
from crmos.sagas.journal import Journal
from crmos.sagas.model import Plan, Scope, StepPlan, idempotency_key, resolve
from crmos.sagas.ports import Action, ConsentPort, StepContext
from crmos.sagas.registry import ActionRegistry, UnknownAction
from crmos.sagas.tracing import Tracing, mark, span_id_of, traceparent_of
from crmos.sagas.views import Entry, dumps

# A failed attempt whose effect on the target is unknown (it may have happened).
UNCERTAIN = frozenset({"transient", "timeout", "error"})


@dataclass(frozen=True, slots=True)
class RunRef:
    """What every attempt of a run needs to know about the run."""

    run_id: str
    workspace_id: str
    plan: Plan
    parent: Context = field(compare=False)

    def scope(self, results: Mapping[str, Mapping[str, Any]]) -> Scope:
        """References resolve against the run's input and the results so far."""
        return Scope(self.run_id, self.plan.input, results)


@dataclass(frozen=True, slots=True)
class Position:
    """Where an attempt stands: the run's first step (``opening``), the last step with nothing
    after it (``closing``), the step's last attempt (``last``)."""

    opening: bool = False
    closing: bool = False
    last: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    """One call of an action: which, with what, under which key, for which phase."""

    step: StepPlan
    phase: str
    attempt: int
    key: str
    action_name: str
    params: Mapping[str, Any]
    scope: Scope
    result: Mapping[str, Any] | None = None


class StepRunner:
    """Runs attempts against the registered actions and writes their timeline rows."""

    def __init__(
        self,
        journal: Journal,
        registry: ActionRegistry,
        tracing: Tracing,
        pool_size: int,
        executor_id: str,
        consent: ConsentPort | None = None,
    ) -> None:
        self.journal = journal
        self.consent = consent
        self.executor_id = executor_id
        self.registry = registry
        self.tracing = tracing
        self.pool = ThreadPoolExecutor(pool_size, thread_name_prefix="crmos-action")

    def close(self) -> None:
        """Stop taking calls (calls still running after a timeout are abandoned)."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    def execute(
        self, run: RunRef, step: StepPlan, attempt: int, results: dict[str, Any], at: Position
    ) -> dict[str, Any]:
        """One attempt of ``step``: its outcome, with ``cancel`` when the run was asked to stop
        meanwhile, and ``completed`` when it was the run's last step and the run is done."""
        if at.opening and self.journal.cancel_requested(run.run_id):
            return {"status": "cancelled", "result": None, "error": "cancelled", "cancel": True}
        key = idempotency_key(run.run_id, step.id)
        call = Call(step, "execute", attempt, key, step.action, step.params, run.scope(results))
        outcome = self._call(run, call)
        values: dict[str, Any] = {"attempts": attempt, "ended_ms": now_ms()}
        run_values: dict[str, Any] = {"executor_id": self.executor_id}
        if outcome["status"] == "ok":
            values.update(status="done", result=dumps(outcome["result"]), error=None)
            if at.closing:
                run_values.update(status="completed", ended_ms=now_ms(), reason=None)
                outcome["completed"] = True
        else:
            retrying = not at.last and outcome["status"] in UNCERTAIN
            values.update(status="retrying" if retrying else "failed", error=outcome["error"])
        outcome["cancel"] = self._journal(run, call, outcome, run_values, **values)
        outcome["attempt"] = attempt
        return outcome

    def compensate(
        self, run: RunRef, step: StepPlan, attempt: int, results: dict[str, Any]
    ) -> dict[str, Any]:
        """One attempt at undoing a finished ``step`` (its own ``compensate``, or an override)."""
        result = results.get(step.id) or {}
        override = step.compensate.action
        scope = run.scope(results)
        if override is None:
            key = idempotency_key(run.run_id, step.id)
            call = Call(step, "compensate", attempt, key, step.action, step.params, scope, result)
        else:
            key = idempotency_key(run.run_id, step.id, "compensate")
            call = Call(step, "compensate", attempt, key, override, step.compensate.params, scope)
        outcome = self._call(run, call)
        status = "compensated" if outcome["status"] == "ok" else "compensation_failed"
        self._journal(run, call, outcome, None, status=status, compensation=status)
        return outcome

    def _call(self, run: RunRef, call: Call) -> dict[str, Any]:
        name = f"saga.{call.phase} {call.step.id}"
        started, clock = now_ms(), time.perf_counter()
        attributes: dict[str, str | int] = {
            "crmos.run.id": run.run_id,
            "crmos.step.id": call.step.id,
            "crmos.action": call.action_name,
            "crmos.attempt": call.attempt,
        }
        with self.tracing.span(name, run.parent, **attributes) as span:
            ctx = StepContext(
                run_id=run.run_id,
                step_id=call.step.id,
                attempt=call.attempt,
                idempotency_key=call.key,
                deadline=utcnow() + timedelta(seconds=call.step.timeout_s),
                traceparent=traceparent_of(span),
                workspace_id=run.workspace_id,
                extra={"phase": call.phase, "run_name": run.plan.name},
                consent=self.consent,
            )
            status, result, error = self._invoke(call, ctx)
            mark(span, status, error)
            outcome: dict[str, Any] = {"status": status, "result": result, "error": error}
            outcome["_timing"] = (started, int((time.perf_counter() - clock) * 1000))
            outcome["_span"] = span_id_of(span)
        return outcome

    def _invoke(
        self, call: Call, ctx: StepContext
    ) -> tuple[str, dict[str, Any] | None, str | None]:
        """Run the action under the step's time limit and classify what happened."""
        try:
            action = self.registry.get(call.action_name)
            params = _params(action, _resolve(call))
            fn: Callable[[], Any]
            if call.phase == "compensate" and call.result is not None:
                result = call.result
                fn = lambda: action.compensate(ctx, params, dict(result))  # noqa: E731
            else:
                fn = lambda: action.execute(ctx, params)  # noqa: E731
            value = self.pool.submit(fn).result(timeout=call.step.timeout_s)
        except FutureTimeout:
            return "timeout", None, f"no answer within {call.step.timeout_s:g}s"
        except TransientError as exc:
            return "transient", None, exc.message
        except (PermanentError, UnknownAction) as exc:
            return "permanent", None, str(exc)
        except Exception as exc:
            return "error", None, f"{type(exc).__name__}: {exc}"
        return "ok", _as_result(value), None

    def _journal(
        self,
        run: RunRef,
        call: Call,
        outcome: dict[str, Any],
        run_values: dict[str, Any] | None,
        **step_values: Any,
    ) -> bool:
        started, duration = outcome.pop("_timing")
        entry = Entry(
            run_id=run.run_id,
            step_id=call.step.id,
            phase=call.phase,
            attempt=call.attempt,
            status=outcome["status"],
            started_ms=started,
            duration_ms=duration,
            error=outcome["error"],
            detail=outcome["result"],
            span_id=outcome.pop("_span"),
        )
        return self.journal.record(entry, run_values, **step_values)


def _resolve(call: Call) -> Mapping[str, Any]:
    """The call's params with references resolved (a missing value is a permanent failure)."""
    try:
        resolved: Mapping[str, Any] = resolve(call.params, call.scope)
    except KeyError as exc:
        raise PermanentError(
            call.action_name, f"reference ${{{exc.args[0]}}} has no value in this run"
        ) from exc
    return resolved


def _params(action: Action, params: Mapping[str, Any]) -> BaseModel:
    try:
        return action.params.model_validate(dict(params))
    except PydanticError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(params)'}: {e['msg']}" for e in exc.errors()
        )
        raise PermanentError(action.name, f"params are invalid: {problems}") from exc


def _as_result(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return {"value": value}
