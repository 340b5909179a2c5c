"""What the journal holds, as values: runs, step states, timeline entries, decisions taken.

Frozen dataclasses built from rows (``run_of``, ``step_of``, ``entry_of``) and turned into
JSON-ready data (``as_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from crmos.sagas.model import TERMINAL, Plan


def dumps(value: Any) -> str:
    """Compact JSON text (non-JSON values are written as their ``str``)."""
    return orjson.dumps(value, default=str).decode()


def loads(text: str | None) -> Any:
    """JSON text back to data (None stays None)."""
    return None if text is None else orjson.loads(text)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as listed."""

    id: str
    workspace_id: str
    name: str
    status: str
    reason: str | None
    failed_step: str | None
    trace_id: str
    retry_of: str | None
    created_ms: int
    started_ms: int | None
    ended_ms: int | None
    cancel_requested: bool
    profile_id: str | None = None
    """The subject profile the run acts for (the plan's ``profile_id``), if any."""

    @property
    def terminal(self) -> bool:
        """Whether the run has ended (completed, compensated, needs attention, cancelled)."""
        return self.status in TERMINAL

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "failed_step": self.failed_step,
            "trace_id": self.trace_id,
            "retry_of": self.retry_of,
            "created_ms": self.created_ms,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "duration_ms": None if self.ended_ms is None else self.ended_ms - self.created_ms,
            "cancel_requested": self.cancel_requested,
            "profile_id": self.profile_id,
        }


@dataclass(frozen=True, slots=True)
class StepState:
    """The current state of one step of a run."""

    step_id: str
    position: int
    action: str
    status: str
    attempts: int
    result: Any
    error: str | None
    compensation: str | None
    outcome: str | None
    outcome_detail: Any
    started_ms: int | None
    ended_ms: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "step": self.step_id,
            "action": self.action,
            "status": self.status,
            "attempts": self.attempts,
            "result": self.result,
            "error": self.error,
            "compensation": self.compensation,
            "outcome": self.outcome,
            "outcome_detail": self.outcome_detail,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One timeline row: an attempt, a compensation, an awaited outcome or a decision."""

    run_id: str
    step_id: str
    phase: str
    attempt: int
    status: str
    started_ms: int
    duration_ms: int
    error: str | None = None
    detail: Any = None
    span_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "step": self.step_id,
            "phase": self.phase,
            "attempt": self.attempt,
            "status": self.status,
            "started_ms": self.started_ms,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "detail": self.detail,
            "span_id": self.span_id,
        }


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run with its steps, its timeline and its plan."""

    run: RunInfo
    steps: tuple[StepState, ...]
    timeline: tuple[Entry, ...]
    plan: Plan
    parent_span_id: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            **self.run.as_dict(),
            "steps": [s.as_dict() for s in self.steps],
            "timeline": [e.as_dict() for e in self.timeline],
            "plan": self.plan.to_data(),
        }


@dataclass(frozen=True, slots=True)
class Choice:
    """A branch of a run decided by a step's ``when``/``unless``."""

    run_id: str
    workspace_id: str
    profile_id: str | None
    plan_name: str
    version: str
    step_id: str
    action: str
    ran: bool
    reason: str
    inputs: dict[str, Any]
    at_ms: int


@dataclass(frozen=True, slots=True)
class NewRun:
    """What is known of a run when it is created."""

    id: str
    workspace_id: str
    plan: Plan
    trace_id: str
    parent_span_id: str
    retry_of: str | None = None
    origin: str | None = None


def run_of(row: Any) -> RunInfo:
    """A ``saga_runs`` row as a value."""
    return RunInfo(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        status=row.status,
        reason=row.reason,
        failed_step=row.failed_step,
        trace_id=row.trace_id,
        retry_of=row.retry_of,
        created_ms=row.created_ms,
        started_ms=row.started_ms,
        ended_ms=row.ended_ms,
        cancel_requested=row.cancel_requested_ms is not None,
        profile_id=row.profile_id,
    )


def step_of(row: Any) -> StepState:
    """A ``saga_steps`` row as a value."""
    return StepState(
        step_id=row.step_id,
        position=row.position,
        action=row.action,
        status=row.status,
        attempts=row.attempts,
        result=loads(row.result),
        error=row.error,
        compensation=row.compensation,
        outcome=row.outcome,
        outcome_detail=loads(row.outcome_detail),
        started_ms=row.started_ms,
        ended_ms=row.ended_ms,
    )


def entry_of(row: Any) -> Entry:
    """A ``saga_timeline`` row as a value."""
    return Entry(
        run_id=row.run_id,
        step_id=row.step_id,
        phase=row.phase,
        attempt=row.attempt,
        status=row.status,
        started_ms=row.started_ms,
        duration_ms=row.duration_ms,
        error=row.error,
        detail=loads(row.detail),
        span_id=row.span_id,
    )
