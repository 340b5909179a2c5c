"""The store side of runs: what people and the API read (runs, steps, the attempt timeline).

The engine writes here from inside its DBOS steps; a step replayed after a crash writes the same
rows again (keyed by run, step, phase and attempt), so the timeline never shows an attempt twice.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, case, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from crmos.core.clock import now_ms
from crmos.core.errors import StoreError
from crmos.sagas.model import TERMINAL, Plan
from crmos.sagas.views import (
    Choice,
    Entry,
    NewRun,
    RunDetail,
    RunInfo,
    dumps,
    entry_of,
    run_of,
    step_of,
)
from crmos.store import Decision, get_decision, record_decision, single_writer
from crmos.store.tables_sagas import saga_runs, saga_steps, saga_timeline

# One writer lock per SQLite database (per engine) in this process.
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


class Journal:
    """Reads and writes the saga tables; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time, and a writer that finds the file locked sleeps
        # 1-100 ms before it tries again: the run threads of one process take turns here
        # instead, which hands the lock over at once. PostgreSQL needs no such turn.
        self._writers: AbstractContextManager[Any] = (
            _WRITERS.setdefault(engine, threading.Lock())
            if single_writer(engine)
            else nullcontext()
        )

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
                    origin=new.origin,
                    profile_id=new.plan.profile_id,
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
        return run_of(row), Plan.from_data(orjson.loads(row.plan)), row.parent_span_id

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
            run_of(row),
            tuple(step_of(s) for s in steps),
            tuple(entry_of(e) for e in entries),
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
            return [run_of(r) for r in conn.execute(stmt).all()]

    def entries(
        self, workspace_id: str, run_ids: Sequence[str], until_ms: int | None, limit: int
    ) -> list[Entry]:
        """Timeline rows of the workspace's runs ``run_ids``, newest first (started at or
        before ``until_ms``)."""
        t, r = saga_timeline.c, saga_runs.c
        stmt = (
            select(saga_timeline)
            .join(saga_runs, r.id == t.run_id)
            .where(r.workspace_id == workspace_id, t.run_id.in_(list(run_ids)))
        )
        if until_ms is not None:
            stmt = stmt.where(t.started_ms <= until_ms)
        stmt = stmt.order_by(t.started_ms.desc(), t.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [entry_of(e) for e in conn.execute(stmt).all()]

    def statuses(self, workspace_id: str, run_ids: Sequence[str]) -> dict[str, str]:
        """The status of each of the workspace's runs ``run_ids`` (unknown ones left out)."""
        r = saga_runs.c
        found: dict[str, str] = {}
        ids = list(run_ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                stmt = select(r.id, r.status).where(
                    r.workspace_id == workspace_id, r.id.in_(ids[start : start + 500])
                )
                found.update((row.id, row.status) for row in conn.execute(stmt))
        return found

    def about(
        self,
        workspace_id: str,
        profile_ids: Sequence[str],
        *,
        open_only: bool = False,
        until_ms: int | None = None,
        limit: int = 50,
    ) -> list[RunInfo]:
        """Runs of ``workspace_id`` whose subject is one of ``profile_ids``, newest first
        (created at or before ``until_ms``; only those not yet ended with ``open_only``)."""
        r = saga_runs.c
        stmt = select(saga_runs).where(
            r.workspace_id == workspace_id, r.profile_id.in_(list(profile_ids))
        )
        if open_only:
            stmt = stmt.where(r.status.not_in(sorted(TERMINAL)))
        if until_ms is not None:
            stmt = stmt.where(r.created_ms <= until_ms)
        stmt = stmt.order_by(r.created_ms.desc(), r.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [run_of(row) for row in conn.execute(stmt).all()]

    def by_origin(self, workspace_id: str, origin: str) -> RunInfo | None:
        """The first run of ``workspace_id`` started with ``origin`` (None when there is none)."""
        r = saga_runs.c
        stmt = (
            select(saga_runs)
            .where(r.workspace_id == workspace_id, r.origin == origin)
            .order_by(r.created_ms, r.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else run_of(row)

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

    def record(self, entry: Entry, run: dict[str, Any] | None = None, **step: Any) -> bool:
        """Write a timeline row (replacing a replayed one), update its step and its run.

        The run moves from ``queued`` to ``running`` (or takes the ``run`` values, e.g. its
        completion). Returns whether the run's cancellation was requested: one transaction for
        all of it, so an attempt costs the journal a single commit.
        """
        runs = saga_runs.c
        values: dict[str, Any] = {
            "status": case((runs.status == "queued", "running"), else_=runs.status),
            "started_ms": func.coalesce(runs.started_ms, entry.started_ms),
            **(run or {}),
        }
        with self._begin("record attempt") as conn:
            _put_entry(conn, entry)
            if step:
                started = func.coalesce(saga_steps.c.started_ms, entry.started_ms)
                conn.execute(
                    update(saga_steps)
                    .where(
                        saga_steps.c.run_id == entry.run_id,
                        saga_steps.c.step_id == entry.step_id,
                    )
                    .values(started_ms=started, **step)
                )
            cancelled = conn.execute(
                update(saga_runs)
                .where(runs.id == entry.run_id)
                .values(**values)
                .returning(runs.cancel_requested_ms)
            ).scalar_one_or_none()
        return cancelled is not None

    def cancel_requested(self, run_id: str) -> bool:
        """Whether the run was asked to stop."""
        stmt = select(saga_runs.c.cancel_requested_ms).where(saga_runs.c.id == run_id)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none() is not None

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
            with self._writers, self.engine.begin() as conn:
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


def all_runs(engine: Engine, run_ids: Sequence[str]) -> dict[str, str]:
    """Status of each of ``run_ids`` (for benchmarks and tests that watch many runs)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(saga_runs.c.id, saga_runs.c.status).where(saga_runs.c.id.in_(list(run_ids)))
        ).all()
    return {r.id: r.status for r in rows}
