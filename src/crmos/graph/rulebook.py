"""Inference rules as data: YAML files of rules, each a CEL condition and a kind with params.

The shipped rules are package data (``crmos/graph/rules/*.yaml``); a deployment may add a
directory (``graph.rules_dir``). Loading collects every problem with its YAML path and raises
once. Kinds (``co_attendance``, ``account_signal``, ``role``) are the join strategies the
engine knows; a rule chooses one and fills in its parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import cel
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError

from crmos.core.errors import Problem, ValidationError

_SNAKE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _snake(value: str) -> str:
    if not _SNAKE.match(value):
        raise ValueError(f"'{value}': use lowercase snake_case starting with a letter, 64 at most")
    return value


# Edge types the consumer writes itself, edge by edge; rules write their own types in batches.
DIRECT_TYPES = ("attended", "works_at", "uses_device")


def _rule_edge(value: str) -> str:
    _snake(value)
    if value in DIRECT_TYPES:
        raise ValueError(f"'{value}' is written by the graph itself; name the rule's own edge type")
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoAttendance(_Spec):
    """Profiles attending the same occasion within a window become ``edge``-linked."""

    occasion: str = Field(description="CEL: the occasion's key, e.g. event.properties.occasion_id")
    label: str | None = Field(default=None, description="CEL: the occasion's name")
    window_days: float = Field(default=30, gt=0)
    edge: str = "co_attended"

    _edge = field_validator("edge")(lambda cls, v: _rule_edge(v))
    weight: float = Field(default=1.0, gt=0)
    max_pairs: int = Field(default=200, ge=1, description="co-attendees linked per event, cap")
    valid_days: float | None = Field(
        default=None,
        gt=0,
        description="the edge expires this long after its latest co-attendance (none: never)",
    )


class AccountSignal(_Spec):
    """An account-level event (funding news) links the account to the accounts of people its
    contacts were ``via``-linked to within the window."""

    account: str = Field(description="CEL: the account key the event is about")
    via: str = "co_attended"
    window_days: float = Field(default=30, gt=0)
    edge: str = "potential_partner"

    _edge = field_validator("edge")(lambda cls, v: _rule_edge(v))
    weight: float = Field(default=0.5, gt=0)
    mode: Literal["add", "max"] = "add"
    valid_days: float | None = Field(
        default=None, gt=0, description="the edge expires this long after its latest signal"
    )


class Dwell(_Spec):
    """Events counted as dwell time, and the seconds each one carries."""

    when: str
    seconds: str
    over: float = Field(gt=0)


class Repeat(_Spec):
    """Events that must repeat at least ``at_least`` times."""

    when: str
    at_least: int = Field(ge=1)


class Role(_Spec):
    """Role/intent reinforcement: dwell and repeats within a window raise a confidence."""

    role: str

    _role = field_validator("role")(lambda cls, v: _snake(v))
    step: float = Field(gt=0, le=1)
    cap: float = Field(default=1.0, gt=0, le=1)
    half_life_days: float = Field(gt=0)
    window_days: float = Field(default=7, gt=0)
    dwell: Dwell
    repeat: Repeat


PARAMS: dict[str, type[_Spec]] = {
    "co_attendance": CoAttendance,
    "account_signal": AccountSignal,
    "role": Role,
}


class RuleSpec(_Spec):
    """One rule as written in YAML."""

    id: str
    version: int = Field(default=1, ge=1)
    description: str = ""
    kind: Literal["co_attendance", "account_signal", "role"]
    when: str
    params: dict[str, Any]

    _id = field_validator("id")(lambda cls, v: _snake(v))


@dataclass(frozen=True, slots=True)
class Rule:
    """A loaded rule: its spec, typed params and compiled CEL programs (by expression text)."""

    id: str
    version: int
    kind: str
    description: str
    when: cel.Program
    params: Any
    programs: dict[str, cel.Program]
    source: str
    full: bool = True
    prefilter: bool = False

    def run(self, expr: str, act: Any) -> Any:
        """Evaluate one of the rule's expressions on an :class:`Activation`."""
        return self.programs[expr].execute(act.get(self.full))

    @property
    def ref(self) -> str:
        """``id@version``, as evidence names the rule."""
        return f"{self.id}@{self.version}"


def load_rules(extra_dir: Path | None = None, disabled: list[str] | None = None) -> list[Rule]:
    """The shipped rules, then those in ``extra_dir``; ``ValidationError`` listing all problems."""
    texts = [
        (f"crmos/graph/rules/{f.name}", f.read_text(encoding="utf-8"))
        for f in sorted(resources.files("crmos.graph.rules").iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    ]
    if extra_dir is not None:
        texts += [(str(p), p.read_text(encoding="utf-8")) for p in sorted(extra_dir.glob("*.yaml"))]
    rules: list[Rule] = []
    problems: list[Problem] = []
    for name, text in texts:
        try:
            rules += parse_rules(text, name)
        except ValidationError as exc:
            problems += exc.problems
    ids = [r.id for r in rules]
    problems += [
        Problem(r.source, f"rule id '{r.id}' used twice; ids must be unique")
        for r in rules
        if ids.count(r.id) > 1
    ]
    if problems:
        raise ValidationError("graph rules have errors", problems)
    off = set(disabled or [])
    return [r for r in rules if r.id not in off]


def parse_rules(text: str, source: str = "<rules>") -> list[Rule]:
    """Parse and compile one rule file; every problem is listed with its YAML path."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError("rule file is not YAML", [Problem(source, str(exc))]) from exc
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list) or set(data) != {"rules"}:
        problem = Problem(
            f"{source}:rules", "the file must be a mapping with one key, rules: [...]"
        )
        raise ValidationError("rule file has errors", [problem])
    rules: list[Rule] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        rule, found = _compile(item, f"{source}:rules[{i}]", source)
        problems += found
        if rule is not None:
            rules.append(rule)
    if problems:
        raise ValidationError("rule file has errors", problems)
    return rules


def _compile(item: Any, path: str, source: str) -> tuple[Rule | None, list[Problem]]:
    try:
        spec = RuleSpec.model_validate(item)
    except PydanticError as exc:
        return None, _problems(path, exc)
    try:
        params = PARAMS[spec.kind].model_validate(spec.params)
    except PydanticError as exc:
        return None, _problems(f"{path}.params", exc)
    exprs = {"when": spec.when} | _expressions(params)
    programs: dict[str, cel.Program] = {}
    problems: list[Problem] = []
    for where, expr in exprs.items():
        try:
            programs[expr] = cel.compile(expr)
        except ValueError as exc:
            problems.append(Problem(f"{path}.{where}", _first_line(exc), reason="cel"))
    if problems:
        return None, problems
    when = programs[spec.when]
    full = any(_needs_full(expr) for expr in exprs.values())
    # A condition without presence tests that is false on an event's type and name alone is
    # false on the whole event too (CEL's && and || absorb the missing fields' errors only
    # where the other side decides), so that answer can be cached per (type, name).
    prefilter = not _WHOLE_EVENT.search(spec.when) and "has(" not in spec.when
    rule = Rule(
        spec.id,
        spec.version,
        spec.kind,
        spec.description,
        when,
        params,
        programs,
        source,
        full,
        prefilter,
    )
    return rule, []


_WHOLE_EVENT = re.compile(r"\bevent\b(?!\s*\.)")


def _needs_full(expr: str) -> bool:
    """Whether an expression may read ``event.context``/``event.traits`` (or all of ``event``)."""
    return "context" in expr or "traits" in expr or bool(_WHOLE_EVENT.search(expr))


def _expressions(params: Any) -> dict[str, str]:
    if isinstance(params, CoAttendance):
        out = {"params.occasion": params.occasion}
        return out | ({"params.label": params.label} if params.label else {})
    if isinstance(params, AccountSignal):
        return {"params.account": params.account}
    assert isinstance(params, Role)
    return {
        "params.dwell.when": params.dwell.when,
        "params.dwell.seconds": params.dwell.seconds,
        "params.repeat.when": params.repeat.when,
    }


def _problems(path: str, exc: PydanticError) -> list[Problem]:
    out = []
    for err in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        out.append(Problem(f"{path}{where}", err["msg"]))
    return out


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return " ".join(lines[:2])[:300]
