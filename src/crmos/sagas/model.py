"""The pure model of a run: its plan, retry policy, references between steps, and statuses.

No I/O here: the engine (``workflow.py``) drives these values through DBOS, and the journal
(``journal.py``) writes them to the store.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RunStatus = Literal[
    "queued",
    "running",
    "waiting",
    "compensating",
    "completed",
    "compensated",
    "needs_attention",
    "cancelled",
]
TERMINAL: frozenset[str] = frozenset({"completed", "compensated", "needs_attention", "cancelled"})
RUN_STATUSES: tuple[str, ...] = (
    "queued",
    "running",
    "waiting",
    "compensating",
    "completed",
    "compensated",
    "needs_attention",
    "cancelled",
)

# ``${input.amount}``, ``${steps.contract.contract_id}``, ``${run.id}``
REFERENCE = re.compile(r"\$\{([^}]*)\}")
ROOTS = ("input", "steps", "run")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a step is tried on transient errors, and how long to wait in between."""

    max_attempts: int
    backoff_s: float
    backoff_rate: float
    max_backoff_s: float

    def delay(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (1-based) failed: exponential."""
        raw = self.backoff_s * self.backoff_rate ** (failed_attempt - 1)
        return float(min(self.max_backoff_s, raw))


@dataclass(frozen=True, slots=True)
class Compensation:
    """How a finished step is undone: by its own action (default), another action, or not."""

    enabled: bool = True
    action: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AwaitOutcome:
    """A step that, once done, waits for a delivery receipt or callback, or a timeout."""

    timeout_s: float
    fail_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StepPlan:
    """One validated step of a run."""

    id: str
    action: str
    params: dict[str, Any]
    retry: RetryPolicy
    timeout_s: float
    compensate: Compensation = field(default_factory=Compensation)
    when: str | None = None
    unless: str | None = None
    await_outcome: AwaitOutcome | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated run: a name, its input and its steps in order."""

    name: str
    steps: tuple[StepPlan, ...]
    input: dict[str, Any] = field(default_factory=dict)
    profile_id: str | None = None

    def to_data(self) -> dict[str, Any]:
        """The plan as JSON-ready data (stored with the run)."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Plan:
        """The inverse of :meth:`to_data`."""
        steps = tuple(_step(s) for s in data["steps"])
        return cls(
            name=data["name"],
            steps=steps,
            input=dict(data.get("input") or {}),
            profile_id=data.get("profile_id"),
        )

    def step(self, step_id: str) -> StepPlan:
        """The step called ``step_id`` (KeyError when there is none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def _step(data: Mapping[str, Any]) -> StepPlan:
    wait = data.get("await_outcome")
    return StepPlan(
        id=data["id"],
        action=data["action"],
        params=dict(data["params"]),
        retry=RetryPolicy(**data["retry"]),
        timeout_s=float(data["timeout_s"]),
        compensate=Compensation(**data["compensate"]),
        when=data.get("when"),
        unless=data.get("unless"),
        await_outcome=None
        if wait is None
        else AwaitOutcome(wait["timeout_s"], tuple(wait.get("fail_on") or ())),
    )


def idempotency_key(run_id: str, step_id: str, purpose: str = "") -> str:
    """The key a step passes to its target: the same on every attempt and after a crash."""
    return f"{run_id}:{step_id}" + (f":{purpose}" if purpose else "")


@dataclass(frozen=True, slots=True)
class Scope:
    """What references may read: the run's id and input and the results of earlier steps."""

    run_id: str
    input: Mapping[str, Any]
    results: Mapping[str, Mapping[str, Any]]

    def lookup(self, expression: str) -> Any:
        """The value of ``input.a.b``, ``steps.ID.field`` or ``run.id`` (KeyError if absent)."""
        root, *path = expression.strip().split(".")
        value: Any
        if root == "run":
            value = {"id": self.run_id}
        elif root == "input":
            value = self.input
        elif root == "steps":
            value = self.results
        else:
            raise KeyError(expression)
        for part in path:
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(expression)
            value = value[part]
        return value


def resolve(value: Any, scope: Scope) -> Any:
    """``value`` with every ``${...}`` reference replaced; a whole-string one keeps its type."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return scope.lookup(whole.group(1))
        return REFERENCE.sub(lambda m: str(scope.lookup(m.group(1))), value)
    if isinstance(value, Mapping):
        return {k: resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    return value


def references(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``(path, expression)`` of a reference inside ``value`` (for validation)."""
    if isinstance(value, str):
        return [(path, m.group(1).strip()) for m in REFERENCE.finditer(value)]
    if isinstance(value, Mapping):
        return [ref for k, v in value.items() for ref in references(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [ref for i, v in enumerate(value) for ref in references(v, f"{path}[{i}]")]
    return []


def truthy(value: Any) -> bool:
    """Whether a ``when`` reference lets its step run (empty, false, zero and null do not)."""
    return bool(value)


TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_trace(traceparent: str | None = None) -> tuple[str, str]:
    """``(trace_id, parent_span_id)`` in hex: continued from ``traceparent`` or fresh."""
    if traceparent:
        match = TRACEPARENT.match(traceparent.strip().lower())
        if match and set(match.group(1)) != {"0"} and set(match.group(2)) != {"0"}:
            return match.group(1), match.group(2)
    return secrets.token_hex(16), secrets.token_hex(8)
