"""What a caller sends to start a run, and its validation into a :class:`~.model.Plan`.

Everything is checked before the run starts and every problem is reported at once, each with
its path (``steps[2].with.amount``): unknown actions (with a suggestion), params of the wrong
type, duplicate step ids, references to unknown or later steps or to missing input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import SagasSettings
from crmos.sagas.model import (
    ROOTS,
    AwaitOutcome,
    Compensation,
    Plan,
    RetryPolicy,
    StepPlan,
    references,
)
from crmos.sagas.registry import ActionRegistry, UnknownAction


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetryIn(_Strict):
    """Retry policy of one step; unset fields take the ``sagas.*`` defaults."""

    max_attempts: int | None = Field(default=None, ge=1, le=100)
    backoff_s: float | None = Field(default=None, ge=0, le=3600)
    backoff_rate: float | None = Field(default=None, ge=1, le=10)
    max_backoff_s: float | None = Field(default=None, ge=0, le=86400)


class CompensateIn(_Strict):
    """Undo the step with another action instead of the step action's own ``compensate``."""

    action: str
    with_: dict[str, Any] = Field(default={}, alias="with")


class AwaitIn(_Strict):
    """Wait for an outcome (``POST .../steps/{step}/outcome``) after the step is done."""

    timeout_s: float = Field(gt=0, le=30 * 86400, description="Give up waiting after this.")
    fail_on: list[str] = Field(
        default=[], description="Outcome statuses that fail the run (and compensate it)."
    )


class StepIn(_Strict):
    """One step as written by a caller."""

    id: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=100)
    action: str = Field(min_length=1, max_length=100)
    with_: dict[str, Any] = Field(default={}, alias="with", description="The action's params.")
    compensate: CompensateIn | bool = Field(
        default=True, description="true: the action's own; false: none; or another action."
    )
    retry: RetryIn = RetryIn()
    timeout_s: float | None = Field(default=None, gt=0, le=86400)
    when: str | None = Field(default=None, description="Run only if this reference is truthy.")
    unless: str | None = Field(default=None, description="Skip if this reference is truthy.")
    await_outcome: AwaitIn | None = None


class RunRequest(_Strict):
    """A run to start: its name, its input and its steps."""

    name: str = Field(default="run", min_length=1, max_length=200)
    input: dict[str, Any] = {}
    profile_id: str | None = Field(
        default=None, max_length=40, description="The customer profile the run acts for."
    )
    steps: list[dict[str, Any]] = Field(min_length=1, max_length=200)


def compile_plan(raw: Mapping[str, Any], registry: ActionRegistry, defaults: SagasSettings) -> Plan:
    """Validate ``raw`` into a plan; raise one :class:`ValidationError` listing every problem."""
    problems: list[Problem] = []
    try:
        request = RunRequest.model_validate(dict(raw))
    except PydanticError as exc:
        raise ValidationError("run refused", _pydantic(exc, "")) from exc
    steps: list[StepPlan] = []
    seen: set[str] = set()
    for index, data in enumerate(request.steps):
        where = f"steps[{index}]"
        try:
            step_in = StepIn.model_validate(data)
        except PydanticError as exc:
            problems.extend(_pydantic(exc, where))
            continue
        if step_in.id in seen:
            problems.append(Problem(f"{where}.id", f"duplicate step id '{step_in.id}'"))
        problems.extend(_check_step(step_in, where, registry, seen, request.input))
        seen.add(step_in.id)
        steps.append(_plan_step(step_in, defaults))
    if problems:
        raise ValidationError(f"run '{request.name}' refused", problems)
    return Plan(request.name, tuple(steps), request.input, request.profile_id)


def _check_step(
    step: StepIn,
    where: str,
    registry: ActionRegistry,
    earlier: set[str],
    run_input: Mapping[str, Any],
) -> list[Problem]:
    out = _check_action(step.action, step.with_, f"{where}.action", f"{where}.with", registry)
    out += _check_references(step.with_, f"{where}.with", earlier, run_input)
    if isinstance(step.compensate, CompensateIn):
        comp = step.compensate
        with_earlier = earlier | {step.id}
        out += _check_action(
            comp.action,
            comp.with_,
            f"{where}.compensate.action",
            f"{where}.compensate.with",
            registry,
        )
        out += _check_references(comp.with_, f"{where}.compensate.with", with_earlier, run_input)
    for name in ("when", "unless"):
        condition = getattr(step, name)
        if condition is not None:
            expression = _bare(condition)
            out += _check_expression(expression, f"{where}.{name}", earlier, run_input)
    return out


def _check_action(
    name: str, params: dict[str, Any], action_path: str, params_path: str, registry: ActionRegistry
) -> list[Problem]:
    try:
        action = registry.get(name)
    except UnknownAction as exc:
        return [Problem(action_path, exc.message, reason="unknown_action")]
    templated = {path for path, _ in references(params)}
    try:
        action.params.model_validate(params)
    except PydanticError as exc:
        return [
            p
            for p in _pydantic(exc, params_path)
            if not any(p.path == f"{params_path}{t}" for t in templated)
        ]
    return []


def _check_references(
    value: Any, path: str, earlier: set[str], run_input: Mapping[str, Any]
) -> list[Problem]:
    out: list[Problem] = []
    for sub, expression in references(value):
        out += _check_expression(expression, f"{path}{sub}", earlier, run_input)
    return out


def _check_expression(
    expression: str, path: str, earlier: set[str], run_input: Mapping[str, Any]
) -> list[Problem]:
    root, *rest = expression.split(".")
    if root not in ROOTS:
        message = f"reference '{expression}' must start with {', '.join(ROOTS)}"
        return [Problem(path, message, reason="bad_reference")]
    if root == "steps" and (not rest or rest[0] not in earlier):
        target = rest[0] if rest else ""
        known = ", ".join(sorted(earlier)) or "none"
        message = f"reference '{expression}' names step '{target}', which does not run "
        return [
            Problem(path, f"{message}before this one (earlier: {known})", reason="bad_reference")
        ]
    if root == "input" and rest and rest[0] not in run_input:
        message = f"reference '{expression}': the run's input has no '{rest[0]}'"
        return [Problem(path, message, reason="bad_reference")]
    if root == "run" and rest != ["id"]:
        message = f"reference '{expression}': only run.id exists"
        return [Problem(path, message, reason="bad_reference")]
    return []


def _bare(condition: str) -> str:
    text = condition.strip()
    return text[2:-1].strip() if text.startswith("${") and text.endswith("}") else text


def _plan_step(step: StepIn, defaults: SagasSettings) -> StepPlan:
    retry = RetryPolicy(
        max_attempts=step.retry.max_attempts or defaults.max_attempts,
        backoff_s=_pick(step.retry.backoff_s, defaults.backoff_s),
        backoff_rate=_pick(step.retry.backoff_rate, defaults.backoff_rate),
        max_backoff_s=_pick(step.retry.max_backoff_s, defaults.max_backoff_s),
    )
    if isinstance(step.compensate, CompensateIn):
        compensation = Compensation(True, step.compensate.action, step.compensate.with_)
    else:
        compensation = Compensation(enabled=step.compensate)
    wait = step.await_outcome
    return StepPlan(
        id=step.id,
        action=step.action,
        params=step.with_,
        retry=retry,
        timeout_s=step.timeout_s or defaults.step_timeout_s,
        compensate=compensation,
        when=_bare(step.when) if step.when else None,
        unless=_bare(step.unless) if step.unless else None,
        await_outcome=None if wait is None else AwaitOutcome(wait.timeout_s, tuple(wait.fail_on)),
    )


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _pydantic(exc: PydanticError, prefix: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        path = prefix
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += f".{part}" if path else str(part)
        message = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"])
        out.append(Problem(path or "(run)", message, reason="invalid_field"))
    return out
