"""The optional settings file of ``crmos identity dedupe|link --settings FILE.json|yaml``.

It replaces any inferred part of a plan::

    columns:                 # kind per column (see KINDS), or "ignore"
      given_name: forename
      notes: ignore
    blocking_rules:          # replaces the inferred candidates; each a list of columns
      - [given_name, surname]
      - [date_of_birth]
    threshold: 0.8           # match probability cut

A file holding Splink's own settings (a ``comparisons`` key, e.g. a model saved by
``linker.misc.save_model_to_json``) is used as is, under ``splink:`` or at the top level.
Every problem in the file is reported at once, each with its path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from crmos.core.errors import Problem, ValidationError
from crmos.identity.matching.model import (
    DATE_FORMATS,
    KINDS,
    BlockingRule,
    ColumnRole,
    Kind,
    MatchPlan,
    candidate_rules,
    date_formats,
    refiners,
)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)
    blocking_rules: list[list[str]] | None = None
    threshold: float | None = Field(default=None, gt=0, lt=1)
    splink: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Overrides:
    """What a settings file changes; column names as in the CSV header."""

    columns: dict[str, str] = field(default_factory=dict)
    blocking_rules: tuple[tuple[str, ...], ...] | None = None
    threshold: float | None = None
    splink: dict[str, Any] | None = None


def load_overrides(path: Path) -> Overrides:
    """Read and check a settings file; raises one error listing every problem."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        fix = f"cannot be read ({exc}); give a JSON or YAML file"
        raise ValidationError(f"settings file {where}", [Problem(where, fix)]) from exc
    if not isinstance(data, dict):
        fix = "must be a mapping with columns, blocking_rules, threshold or splink"
        raise ValidationError(f"settings file {where}", [Problem(where, fix)])
    if "comparisons" in data:
        data = {"splink": data}
    try:
        parsed = _File.model_validate(data)
    except PydanticError as exc:
        problems = [
            Problem(".".join(str(p) for p in e["loc"]) or where, e["msg"]) for e in exc.errors()
        ]
        raise ValidationError(f"settings file {where}", problems) from exc
    _check_kinds(parsed.columns, where)
    rules = tuple(tuple(r) for r in parsed.blocking_rules) if parsed.blocking_rules else None
    return Overrides(parsed.columns, rules, parsed.threshold, parsed.splink)


def _check_kinds(columns: dict[str, str], where: str) -> None:
    valid = (*KINDS, "ignore")
    problems = [
        Problem(f"columns.{name}", f"unknown kind '{kind}'; use one of: {', '.join(valid)}")
        for name, kind in columns.items()
        if kind not in valid
    ]
    if problems:
        raise ValidationError(f"settings file {where}", problems)


def apply_overrides(
    plan: MatchPlan,
    overrides: Overrides,
    names: dict[str, str],
    samples: dict[str, tuple[tuple[str, ...], ...]],
) -> MatchPlan:
    """``plan`` with the file's columns and blocking rules; ``names`` maps header -> safe."""
    problems = [
        Problem(f"columns.{c}", f"no such column; columns are: {', '.join(names)}")
        for c in overrides.columns
        if c not in names
    ]
    roles = {r.column: r for r in plan.roles}
    ignored = dict(plan.ignored)
    for header, kind in overrides.columns.items():
        if header in names:
            _set_kind(names[header], kind, samples, roles, ignored, problems)
    rules = _rules(overrides, names, problems)
    if problems:
        raise ValidationError("settings file does not fit the data", problems)
    kept = tuple(roles.values())
    return replace(
        plan,
        roles=kept,
        ignored=tuple(ignored.items()),
        blocking=tuple(rules) if rules is not None else tuple(candidate_rules(kept)),
        refiners=tuple(refiners(kept)),
    )


def _set_kind(
    col: str,
    kind: str,
    samples: dict[str, tuple[tuple[str, ...], ...]],
    roles: dict[str, ColumnRole],
    ignored: dict[str, str],
    problems: list[Problem],
) -> None:
    """Give ``col`` the kind the file names (or ignore it), in place."""
    roles.pop(col, None)
    ignored.pop(col, None)
    if kind == "ignore":
        ignored[col] = "ignored by the settings file"
        return
    role = _role(col, kind, samples.get(col, ()))
    if isinstance(role, Problem):
        problems.append(role)
    else:
        roles[col] = role


def _role(col: str, kind: str, parts: tuple[tuple[str, ...], ...]) -> ColumnRole | Problem:
    if kind != "date":
        return ColumnRole(col, _kind(kind), "set by the settings file")
    formats = date_formats(parts)
    if formats is None:
        fix = f"set to date but its values match none of {', '.join(DATE_FORMATS)}"
        return Problem(f"columns.{col}", fix)
    return ColumnRole(col, "date", "set by the settings file", formats)


def _kind(kind: str) -> Kind:
    return next(k for k in KINDS if k == kind)


def _rules(
    overrides: Overrides, names: dict[str, str], problems: list[Problem]
) -> list[BlockingRule] | None:
    if overrides.blocking_rules is None:
        return None
    rules = []
    for i, rule in enumerate(overrides.blocking_rules):
        missing = [c for c in rule if c not in names]
        if missing or not rule:
            what = f"unknown column(s) {', '.join(missing)}" if missing else "is empty"
            problems.append(Problem(f"blocking_rules[{i}]", f"{what}; list columns to block on"))
            continue
        keys = tuple(names[c] for c in rule)
        rules.append(BlockingRule(keys, keys))
    return rules
