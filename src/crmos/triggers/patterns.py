"""Window patterns: the pure model, and their parsing from a playbook's ``trigger.pattern``.

    event:    {event: NAME, type: page, where: CEL}           the current event matches
    count:    {event, where, at_least: N, within: 3d}         N matching events in the window
    absent:   {event, where, within: 3d}                      none in the window (looking back)
    absent:   {event, where, within: 1d, after: PATTERN}      none for 1d after PATTERN: a timer
    sequence: {steps: [{event, where}, ...], within: 1h}      the steps in order within the window
    all: [PATTERN, ...]   any: [PATTERN, ...]

Every problem is collected with its path (``trigger.pattern.all[1].within``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmos.core.errors import Problem, did_you_mean
from crmos.triggers.conditions import Condition, ConditionError, Evaluable

DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
KINDS = ("event", "count", "absent", "sequence", "all", "any")
EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")


def parse_duration(text: object) -> int:
    """``"3d"`` -> milliseconds; :class:`ValueError` names the accepted units."""
    match = DURATION.match(str(text).strip())
    if match is None:
        raise ValueError(f"'{text}' is not a duration; write e.g. 30s, 15m, 12h, 3d or 2w")
    return int(match.group(1)) * UNIT_MS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Selector:
    """Which events a leaf counts: by name and type, then by a CEL condition."""

    index: int
    name: str | None
    type: str | None
    where: Evaluable | None


@dataclass(frozen=True, slots=True)
class Count:
    """At least ``n`` matching events within ``within_ms`` (``n=1, within=0``: this event)."""

    node: int
    selector: Selector
    n: int
    within_ms: int


@dataclass(frozen=True, slots=True)
class Absent:
    """No matching event within the window; with ``after``, waits (a durable timer)."""

    node: int
    selector: Selector
    within_ms: int
    after: Pattern | None = None


@dataclass(frozen=True, slots=True)
class Sequence:
    """The selectors matched in order, first to last within ``within_ms``."""

    node: int
    steps: tuple[Selector, ...]
    within_ms: int


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part holds."""

    parts: tuple[Pattern, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Pattern, ...]


Pattern = Count | Absent | Sequence | AllOf | AnyOf


class _Parser:
    def __init__(self, compile_: Callable[[str], Evaluable]) -> None:
        self.compile = compile_
        self.problems: list[Problem] = []
        self.selectors: list[Selector] = []
        self.nodes = 0

    def pattern(self, raw: object, path: str, top: bool = False) -> Pattern | None:
        if not isinstance(raw, Mapping) or len(raw) != 1:
            return self._bad(path, f"give exactly one of {', '.join(KINDS)}")
        kind, body = next(iter(raw.items()))
        if kind in ("all", "any"):
            return self._combine(str(kind), body, f"{path}.{kind}")
        if kind not in KINDS:
            return self._bad(f"{path}.{kind}", _unknown("pattern", str(kind), KINDS))
        if not isinstance(body, Mapping):
            return self._bad(f"{path}.{kind}", "must be a mapping")
        where = f"{path}.{kind}"
        if kind == "sequence":
            return self._sequence(body, where)
        if kind == "absent":
            return self._absent(body, where, top)
        n = self._int(body.get("at_least", 1), f"{where}.at_least") if kind == "count" else 1
        within = self._duration(body.get("within", "0s"), f"{where}.within")
        allowed = {"event", "type", "where"}
        if kind == "count":
            allowed |= {"at_least", "within"}
        self._extra(body, allowed, where)
        return Count(self._node(), self._selector(body, where), n, within)

    def _combine(self, kind: str, body: object, path: str) -> Pattern | None:
        if not isinstance(body, list) or not body:
            return self._bad(path, "must be a non-empty list of patterns")
        parts = [self.pattern(p, f"{path}[{i}]") for i, p in enumerate(body)]
        clean = tuple(p for p in parts if p is not None)
        return AllOf(clean) if kind == "all" else AnyOf(clean)

    def _absent(self, body: Mapping[str, Any], path: str, top: bool) -> Pattern | None:
        self._extra(body, {"event", "type", "where", "within", "after"}, path)
        if "within" not in body:
            self.problems.append(Problem(f"{path}.within", "an absence needs a window"))
        within = self._duration(body.get("within", "0s"), f"{path}.within")
        after = None
        if "after" in body:
            if not top:
                msg = "an absence that waits (after:) must be the whole pattern"
                self.problems.append(Problem(f"{path}.after", msg))
            after = self.pattern(body["after"], f"{path}.after")
        return Absent(self._node(), self._selector(body, path), within, after)

    def _sequence(self, body: Mapping[str, Any], path: str) -> Pattern | None:
        self._extra(body, {"steps", "within"}, path)
        steps = body.get("steps")
        if not isinstance(steps, list) or len(steps) < 2:
            return self._bad(f"{path}.steps", "a sequence needs at least two steps")
        selectors = []
        for i, step in enumerate(steps):
            if not isinstance(step, Mapping):
                self.problems.append(Problem(f"{path}.steps[{i}]", "must be a mapping"))
                continue
            self._extra(step, {"event", "type", "where"}, f"{path}.steps[{i}]")
            selectors.append(self._selector(step, f"{path}.steps[{i}]"))
        within = self._duration(body.get("within", "0s"), f"{path}.within")
        return Sequence(self._node(), tuple(selectors), within)

    def _selector(self, body: Mapping[str, Any], path: str) -> Selector:
        name, kind, where = body.get("event"), body.get("type"), body.get("where")
        if name is None and kind is None and where is None:
            self.problems.append(Problem(path, "say which events: event, type or where"))
        if kind is not None and kind not in EVENT_TYPES:
            self.problems.append(Problem(f"{path}.type", _unknown("event type", kind, EVENT_TYPES)))
        condition = None
        if where is not None:
            try:
                condition = self.compile(str(where))
            except ConditionError as exc:
                self.problems.append(Problem(f"{path}.where", str(exc)))
        selector = Selector(len(self.selectors), _opt(name), _opt(kind), condition)
        self.selectors.append(selector)
        return selector

    def _duration(self, raw: object, path: str) -> int:
        try:
            return parse_duration(raw)
        except ValueError as exc:
            self.problems.append(Problem(path, str(exc)))
            return 0

    def _int(self, raw: object, path: str) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
            return raw
        self.problems.append(Problem(path, f"must be a whole number >= 1, got {raw!r}"))
        return 1

    def _extra(self, body: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in body:
            if key not in allowed:
                self.problems.append(Problem(f"{path}.{key}", _unknown("key", key, allowed)))

    def _node(self) -> int:
        self.nodes += 1
        return self.nodes - 1

    def _bad(self, path: str, message: str) -> Pattern | None:
        self.problems.append(Problem(path, message))
        return None


@dataclass(frozen=True, slots=True)
class ParsedPattern:
    """A parsed pattern with its selectors and its count of stateful nodes."""

    root: Pattern
    selectors: tuple[Selector, ...]
    nodes: int


def parse_pattern(
    raw: object, path: str, compile_: Callable[[str], Evaluable] = Condition.compile
) -> tuple[ParsedPattern | None, list[Problem]]:
    """Parse ``raw`` (the YAML mapping) into a pattern, with every problem found.

    ``compile_`` turns a ``where`` source into a condition (CEL; the benchmark's reference
    passes Python callables).
    """
    parser = _Parser(compile_)
    root = parser.pattern(raw, path, top=True)
    if root is None or parser.problems:
        return None, parser.problems
    return ParsedPattern(root, tuple(parser.selectors), parser.nodes), []


def longest_window(pattern: Pattern) -> int:
    """The widest window in ``pattern`` (checked against the event retention)."""
    if isinstance(pattern, AllOf | AnyOf):
        return max((longest_window(p) for p in pattern.parts), default=0)
    if isinstance(pattern, Absent) and pattern.after is not None:
        return max(pattern.within_ms, longest_window(pattern.after))
    return pattern.within_ms


def _unknown(what: str, name: str, known: object) -> str:
    options = sorted(str(k) for k in known)  # type: ignore[attr-defined]
    hint = did_you_mean(str(name), options, f"use one of {', '.join(options)}")
    return f"unknown {what} '{name}'; {hint}"


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
