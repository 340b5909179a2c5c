"""The store side of runs: what people and the API read (runs, steps, the attempt timeline).

The engine writes here from inside its DBOS steps; a step replayed after a crash writes the same
rows again (keyed by run, step, phase and attempt), so the timeline never shows an attempt twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from crmos.core.clock import utcnow
from crmos.core.errors import StoreError
from crmos.sagas.model import TERMINAL, Plan
from crmos.store import Decision, get_decision, record_decision
from crmos.store.tables_sagas import saga_runs, saga_steps, saga_timeline


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(utcnow().timestamp() * 1000)


def dumps(value: Any) -> str:
    """Compact JSON text (non-JSON values are written as their ``str``)."""
    return orjson.dumps(value, default=str).decode()


def _loads(text: str | None) -> Any:
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


class Journal:
    """Reads and writes the saga tables; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, new: NewRun) -> None:
        """Insert a queued run and its pending steps."""
        at = now_ms()
        steps = [
            {
                "run_id": new.id,
                "step_id": s.id,
                "position": i,
                "action": s.action,
                "status": "pending",
                "attempts": 0,
            }
            for i, s in enumerate(new.plan.steps)
        ]
        with self._begin("create run") as conn:
            conn.execute(
                saga_runs.insert().values(
                    id=new.id,
                    workspace_id=new.workspace_id,
                    name=new.plan.name,
                    status="queued",
                    plan=dumps(new.plan.to_data()),
                    trace_id=new.trace_id,
                    parent_span_id=new.parent_span_id,
                    retry_of=new.retry_of,
                    created_ms=at,
                )
            )
            conn.execute(saga_steps.insert(), steps)

    def load(self, run_id: str) -> tuple[RunInfo, Plan, str] | None:
        """A run, its plan and its parent span id (None when there is no such run)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(saga_runs).where(saga_runs.c.id == run_id)).one_or_none()
        if row is None:
            return None
        return _run(row), Plan.from_data(orjson.loads(row.plan)), row.parent_span_id

    def get(self, workspace_id: str, run_id: str) -> RunDetail | None:
        """A run of ``workspace_id`` with its steps and timeline (None when unknown there)."""
        return self.detail(run_id, workspace_id)

    def detail(self, run_id: str, workspace_id: str | None = None) -> RunDetail | None:
        """A run with its steps and timeline, optionally only if it is ``workspace_id``'s."""
        stmt = select(saga_runs).where(saga_runs.c.id == run_id)
        if workspace_id is not None:
            stmt = stmt.where(saga_runs.c.workspace_id == workspace_id)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).one_or_none()
            if row is None:
                return None
            steps = conn.execute(
                select(saga_steps)
                .where(saga_steps.c.run_id == run_id)
                .order_by(saga_steps.c.position)
            ).all()
            entries = conn.execute(
                select(saga_timeline)
                .where(saga_timeline.c.run_id == run_id)
                .order_by(saga_timeline.c.started_ms, saga_timeline.c.id)
            ).all()
        plan = Plan.from_data(orjson.loads(row.plan))
        return RunDetail(
            _run(row),
            tuple(_step(s) for s in steps),
            tuple(_entry(e) for e in entries),
            plan,
            row.parent_span_id,
        )

    def find(
        self,
        workspace_id: str,
        status: str | None = None,
        limit: int = 50,
        before_ms: int | None = None,
    ) -> list[RunInfo]:
        """Runs of ``workspace_id``, newest first."""
        stmt = select(saga_runs).where(saga_runs.c.workspace_id == workspace_id)
        if status is not None:
            stmt = stmt.where(saga_runs.c.status == status)
        if before_ms is not None:
            stmt = stmt.where(saga_runs.c.created_ms < before_ms)
        stmt = stmt.order_by(saga_runs.c.created_ms.desc(), saga_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(stmt).all()]

    def queued_before(self, before_ms: int) -> list[str]:
        """Ids of runs still queued that were created before ``before_ms`` (all workspaces)."""
        stmt = select(saga_runs.c.id).where(
            saga_runs.c.status == "queued", saga_runs.c.created_ms < before_ms
        )
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).scalars())

    def set_status(self, run_id: str, status: str, **values: Any) -> None:
        """Move a run to ``status`` (ending it when the status is terminal)."""
        if status in TERMINAL:
            values.setdefault("ended_ms", now_ms())
        with self._begin("update run") as conn:
            conn.execute(
                update(saga_runs).where(saga_runs.c.id == run_id).values(status=status, **values)
            )

    def start(self, run_id: str, executor_id: str) -> None:
        """Mark a run running on ``executor_id`` (its first start keeps its start time)."""
        with self._begin("start run") as conn:
            conn.execute(
                update(saga_runs)
                .where(saga_runs.c.id == run_id)
                .values(
                    status="running",
                    executor_id=executor_id,
                    started_ms=func.coalesce(saga_runs.c.started_ms, now_ms()),
                )
            )

    def begin_step(self, run_id: str, step_id: str, status: str, **values: Any) -> bool:
        """Mark a step as being worked on; True when the run's cancellation was requested."""
        with self._begin("begin step") as conn:
            conn.execute(
                update(saga_steps)
                .where(saga_steps.c.run_id == run_id, saga_steps.c.step_id == step_id)
                .values(
                    status=status,
                    started_ms=func.coalesce(saga_steps.c.started_ms, now_ms()),
                    **values,
                )
            )
            cancelled = conn.execute(
                select(saga_runs.c.cancel_requested_ms).where(saga_runs.c.id == run_id)
            ).scalar_one_or_none()
        return cancelled is not None

    def record(self, entry: Entry, **step_values: Any) -> None:
        """Write a timeline row (replacing a replayed one) and update its step."""
        with self._begin("record attempt") as conn:
            _put_entry(conn, entry)
            if step_values:
                conn.execute(
                    update(saga_steps)
                    .where(
                        saga_steps.c.run_id == entry.run_id,
                        saga_steps.c.step_id == entry.step_id,
                    )
                    .values(**step_values)
                )

    def request_cancel(self, run_id: str) -> None:
        """Note that the run should stop (the engine checks between steps)."""
        with self._begin("cancel run") as conn:
            conn.execute(
                update(saga_runs)
                .where(saga_runs.c.id == run_id, saga_runs.c.cancel_requested_ms.is_(None))
                .values(cancel_requested_ms=now_ms())
            )

    def decide(self, choice: Choice) -> str:
        """Record a branch taken or skipped: a decision record, a timeline row, the step state.

        The decision id derives from the run and step, so a replayed step records it once.
        """
        digest = hashlib.sha256(f"{choice.run_id}/{choice.step_id}".encode()).hexdigest()
        decision = Decision(
            workspace_id=choice.workspace_id,
            kind="saga.branch",
            rule=f"{choice.plan_name}/{choice.step_id}",
            version=choice.version,
            reason=choice.reason,
            subject_profile_id=choice.profile_id,
            inputs=choice.inputs,
            actions=[
                {
                    "run_id": choice.run_id,
                    "step": choice.step_id,
                    "action": choice.action,
                    "taken": choice.ran,
                }
            ],
            id=f"dec_{digest[:32]}",
            at_ms=choice.at_ms,
        )
        status = "taken" if choice.ran else "skipped"
        entry = Entry(
            choice.run_id,
            choice.step_id,
            "decision",
            1,
            status,
            choice.at_ms,
            0,
            None,
            {"reason": choice.reason, "inputs": choice.inputs, "decision_id": decision.id},
        )
        with self._begin("record decision") as conn:
            if get_decision(conn, choice.workspace_id, decision.id) is None:
                record_decision(conn, decision)
            _put_entry(conn, entry)
            if not choice.ran:
                conn.execute(
                    update(saga_steps)
                    .where(
                        saga_steps.c.run_id == choice.run_id, saga_steps.c.step_id == choice.step_id
                    )
                    .values(status="skipped", ended_ms=choice.at_ms)
                )
        return decision.id

    def counts(self, workspace_id: str) -> dict[str, int]:
        """Runs per status in ``workspace_id``."""
        stmt = (
            select(saga_runs.c.status, func.count())
            .where(saga_runs.c.workspace_id == workspace_id)
            .group_by(saga_runs.c.status)
        )
        with self.engine.connect() as conn:
            return {status: int(n) for status, n in conn.execute(stmt).all()}

    def outcome_counts(self, workspace_id: str) -> dict[str, int]:
        """Awaited outcomes per status (``unacknowledged``: no receipt before the timeout)."""
        stmt = (
            select(saga_steps.c.outcome, func.count())
            .join(saga_runs, saga_runs.c.id == saga_steps.c.run_id)
            .where(saga_runs.c.workspace_id == workspace_id, saga_steps.c.outcome.is_not(None))
            .group_by(saga_steps.c.outcome)
        )
        with self.engine.connect() as conn:
            return {str(o): int(n) for o, n in conn.execute(stmt).all()}

    @contextmanager
    def _begin(self, operation: str) -> Iterator[Connection]:
        """A transaction; driver errors become :class:`StoreError` (the engine retries those)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(operation, str(exc)) from exc


def _put_entry(conn: Connection, entry: Entry) -> None:
    t = saga_timeline
    conn.execute(
        t.delete().where(
            t.c.run_id == entry.run_id,
            t.c.step_id == entry.step_id,
            t.c.phase == entry.phase,
            t.c.attempt == entry.attempt,
        )
    )
    conn.execute(
        t.insert().values(
            run_id=entry.run_id,
            step_id=entry.step_id,
            phase=entry.phase,
            attempt=entry.attempt,
            status=entry.status,
            started_ms=entry.started_ms,
            duration_ms=entry.duration_ms,
            error=entry.error,
            detail=None if entry.detail is None else dumps(entry.detail),
            span_id=entry.span_id,
        )
    )


def _run(row: Any) -> RunInfo:
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
    )


def _step(row: Any) -> StepState:
    return StepState(
        step_id=row.step_id,
        position=row.position,
        action=row.action,
        status=row.status,
        attempts=row.attempts,
        result=_loads(row.result),
        error=row.error,
        compensation=row.compensation,
        outcome=row.outcome,
        outcome_detail=_loads(row.outcome_detail),
        started_ms=row.started_ms,
        ended_ms=row.ended_ms,
    )


def _entry(row: Any) -> Entry:
    return Entry(
        run_id=row.run_id,
        step_id=row.step_id,
        phase=row.phase,
        attempt=row.attempt,
        status=row.status,
        started_ms=row.started_ms,
        duration_ms=row.duration_ms,
        error=row.error,
        detail=_loads(row.detail),
        span_id=row.span_id,
    )


def all_runs(engine: Engine, run_ids: Sequence[str]) -> dict[str, str]:
    """Status of each of ``run_ids`` (for benchmarks and tests that watch many runs)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(saga_runs.c.id, saga_runs.c.status).where(saga_runs.c.id.in_(list(run_ids)))
        ).all()
    return {r.id: r.status for r in rows}
