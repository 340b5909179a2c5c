"""The playbook YAML: its pydantic model (and JSON Schema), and validation into a :class:`Playbook`.

Every problem is collected, each with its path in the file (``steps[1].with.months``), unknown
names get a "did you mean", and the loader raises once with all of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from crmos.core.errors import Problem, ValidationError, did_you_mean
from crmos.playbooks.components import IMPACTS, ComponentRegistry, UnknownComponent
from crmos.triggers import (
    Condition,
    ConditionError,
    ParsedPattern,
    longest_window,
    parse_duration,
    parse_pattern,
)

ID = r"^[a-z0-9][a-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TriggerSpec(_Strict):
    """When the playbook fires: a window pattern, then a CEL condition at completion."""

    pattern: dict[str, Any] = Field(
        description="event | count | absent | sequence | all | any (see docs/playbooks.md)."
    )
    condition: str | None = Field(default=None, description="CEL over event, profile, traits, …")


class CompensateSpec(_Strict):
    """Undo a finished step with another component."""

    component: str
    with_: dict[str, Any] = Field(default={}, alias="with")


class StepSpec(_Strict):
    """One step: a component with typed ``with:`` params."""

    id: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=100)
    component: str = Field(description="A registered component (crmos playbooks components).")
    with_: dict[str, Any] = Field(default={}, alias="with", description="The component params.")
    compensate: CompensateSpec | bool = Field(default=True, description="Undo on a later failure.")
    after: list[str] = Field(default=[], description="Steps that must finish first.")


class ApprovalSpec(_Strict):
    """Whether a person must approve a run before it acts."""

    policy: Literal["none", "required_above"] = "none"
    impact: Literal["low", "medium"] = Field(
        default="medium", description="Approval is required when a step's impact is above this."
    )


class OutcomeSpec(_Strict):
    """The event that counts as a conversion, and for how long after a profile's first firing."""

    event: str = Field(min_length=1, description="The outcome event (track event or page name).")
    type: str | None = Field(default=None, description="Only events of this Segment type.")
    within: str = Field(default="14d", description="Window after the first firing: 7d, 12h …")


class ExperimentSpec(_Strict):
    """A deterministic split per profile; the ``control`` variant takes no action."""

    variants: dict[str, int] = Field(min_length=2, description="Variant -> weight (sum 100).")
    control: str | None = Field(default=None, description="Variant held out (no run).")
    outcome: OutcomeSpec | None = Field(
        default=None, description="What counts as a conversion in the results per variant."
    )


class PlaybookSpec(_Strict):
    """A playbook file."""

    id: str = Field(pattern=ID, max_length=100)
    description: str = Field(min_length=1)
    trigger: TriggerSpec
    audience: str | None = Field(default=None, description="CEL: who may be acted on.")
    consent: str | None = Field(default=None, description="Consent purpose the profile needs.")
    approval: ApprovalSpec = ApprovalSpec()
    experiment: ExperimentSpec | None = None
    steps: list[StepSpec] = Field(min_length=1, max_length=100)


@dataclass(frozen=True, slots=True)
class Playbook:
    """A validated playbook: its spec, content hash, compiled trigger and ordered steps."""

    spec: PlaybookSpec
    hash: str
    source: str
    pattern: ParsedPattern
    condition: Condition | None
    audience: Condition | None
    order: tuple[str, ...]

    @property
    def id(self) -> str:
        """The playbook id."""
        return self.spec.id

    @property
    def trigger_condition(self) -> Condition | None:
        """The CEL condition checked when the pattern completes."""
        return self.condition


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a playbook file."""
    schema = PlaybookSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://crmos.dev/schemas/playbook.json"
    return schema


def content_hash(spec: PlaybookSpec) -> str:
    """SHA-256 of the canonical JSON of ``spec`` (formatting and comments do not count)."""
    data = spec.model_dump(by_alias=True)
    # Added after files were published: left out while unset, so those files keep their hash.
    if data.get("experiment") and data["experiment"].get("outcome") is None:
        del data["experiment"]["outcome"]
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def parse(text: str, registry: ComponentRegistry, retention_ms: int) -> Playbook:
    """Validate a playbook file; one :class:`ValidationError` lists every problem."""
    raw, problems = _yaml(text)
    if raw is None:
        raise ValidationError("playbook refused", problems)
    spec = None
    try:
        spec = PlaybookSpec.model_validate(raw)
    except PydanticError as exc:
        problems += _pydantic(exc)
    # The sections are checked on their own too, so one bad field hides no other problem.
    pattern, condition = _check_trigger(raw.get("trigger"), retention_ms, problems)
    audience = _cel(raw.get("audience"), "audience", problems)
    steps = _valid_steps(raw.get("steps"))
    problems += _check_steps(steps, registry)
    order, cyclic = _order(steps)
    problems += cyclic
    if spec is not None:
        problems += _check_policies(spec)
    if problems or spec is None or pattern is None:
        name = raw.get("id", "(no id)")
        raise ValidationError(f"playbook '{name}' refused", problems)
    return Playbook(spec, content_hash(spec), text, pattern, condition, audience, order)


def _check_trigger(
    raw: object, retention_ms: int, problems: list[Problem]
) -> tuple[ParsedPattern | None, Condition | None]:
    if not isinstance(raw, Mapping) or "pattern" not in raw:
        return None, None
    pattern, more = parse_pattern(raw["pattern"], "trigger.pattern")
    problems += more
    condition = _cel(raw.get("condition"), "trigger.condition", problems)
    if pattern is not None and longest_window(pattern.root) > retention_ms:
        days = retention_ms // 86_400_000
        problems.append(Problem("trigger.pattern", f"a window exceeds the {days}-day retention"))
    return pattern, condition


def _valid_steps(raw: object) -> list[tuple[int, StepSpec]]:
    """The steps that are well-formed, with their index (the others are pydantic problems)."""
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append((i, StepSpec.model_validate(item)))
        except PydanticError:
            continue
    return out


def _yaml(text: str) -> tuple[Mapping[str, Any] | None, list[Problem]]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        return None, [Problem(where, f"invalid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(raw, Mapping):
        return None, [Problem("(file)", "a playbook is a YAML mapping (id, trigger, steps …)")]
    return raw, []


def _pydantic(exc: PydanticError) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = error["loc"]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = _unknown_key(str(loc[-1]), loc[:-1])
        out.append(Problem(path or "(file)", message))
    return out


def _unknown_key(key: str, parent: tuple[Any, ...]) -> str:
    model: type[BaseModel] = PlaybookSpec
    nested: dict[str, type[BaseModel]] = {
        "trigger": TriggerSpec,
        "approval": ApprovalSpec,
        "experiment": ExperimentSpec,
    }
    if parent and parent[0] == "steps":
        model = CompensateSpec if "compensate" in parent else StepSpec
    elif parent[:2] == ("experiment", "outcome"):
        model = OutcomeSpec
    elif parent and str(parent[0]) in nested:
        model = nested[str(parent[0])]
    known = sorted(f.alias or n for n, f in model.model_fields.items())
    hint = did_you_mean(key, known, f"use one of {', '.join(known)}")
    return f"unknown key '{key}'; {hint}"


def _cel(source: object, path: str, problems: list[Problem]) -> Condition | None:
    if not isinstance(source, str):
        return None
    try:
        return Condition.compile(source)
    except ConditionError as exc:
        problems.append(Problem(path, str(exc)))
        return None


def _check_steps(steps: list[tuple[int, StepSpec]], registry: ComponentRegistry) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, step in steps:
        where = f"steps[{i}]"
        if step.id in seen:
            problems.append(Problem(f"{where}.id", f"duplicate step id '{step.id}'"))
        seen.add(step.id)
        problems += _check_params(step.component, step.with_, where, registry)
        if isinstance(step.compensate, CompensateSpec):
            comp = step.compensate
            problems += _check_params(comp.component, comp.with_, f"{where}.compensate", registry)
    return problems


def _check_params(
    name: str, params: dict[str, Any], where: str, registry: ComponentRegistry
) -> list[Problem]:
    try:
        component = registry.get(name)
    except UnknownComponent as exc:
        return [Problem(f"{where}.component", exc.message, reason="unknown_component")]
    templated = {k for k, v in params.items() if isinstance(v, str) and "${" in v}
    try:
        component.params.model_validate(params)
    except PydanticError as exc:
        out = []
        for error in exc.errors():
            loc = error["loc"]
            if loc and loc[0] in templated:
                continue
            sub = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                known = sorted(component.params.model_fields)
                hint = did_you_mean(str(loc[-1]), known, f"use {', '.join(known)}")
                message = f"unknown param '{loc[-1]}' of {name}; {hint}"
            out.append(Problem(f"{where}.with{sub}", message, reason="bad_param"))
        return out
    return []


def _order(steps: list[tuple[int, StepSpec]]) -> tuple[tuple[str, ...], list[Problem]]:
    """Steps in an order that respects ``after``; cycles and unknown steps are problems."""
    ids = [s.id for _, s in steps]
    index = {s.id: i for i, s in steps}
    problems: list[Problem] = []
    deps: dict[str, set[str]] = {}
    for i, step in steps:
        for j, other in enumerate(step.after):
            if other not in ids:
                close = did_you_mean(other, ids)
                hint = f"; {close}" if close else ""
                problems.append(Problem(f"steps[{i}].after[{j}]", f"unknown step '{other}'{hint}"))
        deps[step.id] = {d for d in step.after if d in ids}
    order: list[str] = []
    done: set[str] = set()
    while len(done) < len(deps):
        ready = [s for s in ids if s not in done and deps[s] <= done]
        if not ready:
            stuck = [s for s in ids if s not in done]
            for s in stuck:
                message = f"step '{s}' is unreachable: its `after` steps form a cycle ({stuck})"
                problems.append(Problem(f"steps[{index[s]}].after", message))
            break
        order.extend(ready)
        done.update(ready)
    return tuple(order), problems


def _check_policies(spec: PlaybookSpec) -> list[Problem]:
    problems = []
    experiment = spec.experiment
    if experiment is not None:
        if sum(experiment.variants.values()) != 100:
            problems.append(Problem("experiment.variants", "weights must add up to 100"))
        if experiment.control is not None and experiment.control not in experiment.variants:
            names = ", ".join(experiment.variants)
            message = f"control '{experiment.control}' is not a variant ({names})"
            problems.append(Problem("experiment.control", message))
        if experiment.outcome is not None:
            try:
                parse_duration(experiment.outcome.within)
            except ValueError as exc:
                problems.append(Problem("experiment.outcome.within", str(exc)))
    assert spec.approval.impact in IMPACTS
    return problems
