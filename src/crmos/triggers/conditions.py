"""Conditions in CEL (Common Expression Language), compiled once and evaluated many times.

A condition sees the variables ``event``, ``profile``, ``traits``, ``flags``, ``account``,
``graph`` and ``analytics``; a variable it reads that is absent makes it false (never an error
at run time), so a playbook over a trait most profiles lack simply does not fire for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import cel

from crmos.core.errors import ValidationError

VARIABLES = ("event", "profile", "traits", "flags", "account", "graph", "analytics")


class Evaluable(Protocol):
    """A compiled condition (CEL, or a Python callable for the reference)."""

    @property
    def source(self) -> str:
        """The expression as written."""

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """True when the condition holds over ``activation``."""


class ConditionError(ValidationError, ValueError):
    """A CEL expression that does not compile, or reads a variable that does not exist.

    Still a ``ValueError``, as it was before the error tree had it.
    """

    code = "invalid_condition"


@dataclass(frozen=True, slots=True)
class Condition:
    """One compiled CEL expression; ``evaluate`` is true only for a boolean ``true``.

    Handing a Python value to the CEL runtime costs microseconds per map entry, far more than
    evaluating it, so simple conjunctions of comparisons (``event.properties.path == "/x" &&
    traits.score >= 3``) also get a Python form, used when every value it compares has the
    literal's exact type; anything else goes to the CEL program.
    """

    source: str
    program: Any = field(repr=False, compare=False)
    fast: Callable[[Mapping[str, Any]], bool | None] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def compile(cls, source: str) -> Condition:
        """Compile ``source``; :class:`ConditionError` says what is wrong and where."""
        try:
            program = cel.compile(source)
        except ValueError as exc:
            raise ConditionError(str(exc).splitlines()[0]) from exc
        unknown = sorted(set(program.variables()) - set(VARIABLES))
        if unknown:
            known = ", ".join(VARIABLES)
            raise ConditionError(f"unknown variable {', '.join(unknown)}; use {known}")
        return cls(source, program, _fast(source))

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """The expression's value over ``activation``; a missing field or type clash is false."""
        if self.fast is not None:
            verdict = self.fast(activation)
            if verdict is not None:
                return verdict
        try:
            return self.program.execute(activation) is True
        except (KeyError, TypeError, ValueError, RuntimeError):
            return False


_LITERAL = r'"[^"\\]*"|-?\d+\.\d+|-?\d+|true|false'
_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_CLAUSE = re.compile(
    rf"^\s*({_PATH})\s*(==|!=|<=|>=|<|>|in)\s*(\[\s*(?:{_LITERAL})(?:\s*,\s*(?:{_LITERAL}))*\s*\]|{_LITERAL})\s*$"
)
_ORDER = {"<", "<=", ">", ">="}
Verdict = Callable[[Mapping[str, Any]], bool | None]


def _literal(text: str) -> Any:
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text) if "." in text else int(text)


def _fast(source: str) -> Verdict | None:
    """A Python form of ``a.b == lit && c.d in [lit, ...] && ...``, or ``None``."""
    if "||" in source or source.count("&&") != len(source.split("&&")) - 1:
        return None
    clauses = []
    for part in source.split("&&"):
        match = _CLAUSE.match(part)
        if match is None or '"' in part.split(match.group(2), 1)[0]:
            return None
        path, op, raw = match.groups()
        if op == "in" and not raw.startswith("["):
            return None
        values = [_literal(v) for v in re.findall(_LITERAL, raw[1:-1])] if op == "in" else None
        clauses.append(_clause(tuple(path.split(".")), op, values or _literal(raw)))
    return lambda activation: _all(clauses, activation)


def _clause(path: tuple[str, ...], op: str, literal: Any) -> Verdict:
    kinds = {type(v) for v in literal} if op == "in" else {type(literal)}
    if len(kinds) != 1 or (op in _ORDER and kinds & {str, bool}):
        return lambda _: None  # mixed literal types or ordering strings: leave it to CEL

    def verdict(activation: Mapping[str, Any]) -> bool | None:
        value: Any = activation
        try:
            for key in path:
                value = value[key]
        except (KeyError, TypeError, IndexError):
            return False  # CEL: no such key -> error -> false
        if type(value) not in kinds:
            return None  # CEL's own typing decides
        return _compare(value, op, literal)

    return verdict


def _compare(value: Any, op: str, literal: Any) -> bool:
    if op == "==":
        return bool(value == literal)
    if op == "!=":
        return bool(value != literal)
    if op == "in":
        return value in literal
    if op == "<":
        return bool(value < literal)
    if op == "<=":
        return bool(value <= literal)
    if op == ">":
        return bool(value > literal)
    return bool(value >= literal)


def _all(clauses: list[Verdict], activation: Mapping[str, Any]) -> bool | None:
    undecided = False
    for clause in clauses:
        verdict = clause(activation)
        if verdict is False:
            return False
        undecided = undecided or verdict is None
    return None if undecided else True


@dataclass(frozen=True, slots=True)
class LambdaCondition:
    """A condition written as a Python callable: the benchmark's reference, and for tests."""

    source: str
    function: Callable[[Mapping[str, Any]], bool] = field(repr=False, compare=False)

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """The callable's verdict; a missing field is false."""
        try:
            return self.function(activation) is True
        except (KeyError, TypeError, AttributeError):
            return False
