"""The sagas' part of an erasure: run parameters and results, and DBOS's checkpoints of them.

A run is a business record (which contract was drafted, which material locked), so its rows
stay with the person's strings replaced by aliases: the plan's input, step results, outcome
details, errors and the timeline. DBOS keeps the run's input and every step's output as
pickles in its own tables (``workflow_status``, ``operation_outputs`` ...); a finished run's
workflows (the run and its repairs) are deleted there through DBOS's client.

A run of the person that no engine has taken yet would still act on the person after the
erasure (its queued DBOS input holds their strings): it is cancelled, with the erasure named as
the reason in its record and timeline, taken off DBOS's queue and its workflow deleted. The
journal notes the cancellation first, so an engine that takes the run before the erasure ends
stops it at its first step. A run already executing, or one that needs attention, still needs
its checkpoints: it is named as unfinished, and the erasure ends ``incomplete`` until it is
repeated after the run ends.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select, update

from crmos.core.clock import now_ms
from crmos.core.datamap import DataMap, Erased, Holding, Person
from crmos.core.errors import StoreError
from crmos.sagas.dispatch import Dispatcher
from crmos.store import holds_any, pseudonymise_rows
from crmos.store.tables_sagas import saga_runs, saga_steps, saga_timeline

DATA_MAP = DataMap(
    room="sagas",
    holdings=(
        Holding(
            "table",
            "saga_runs",
            ("plan", "reason", "profile_id"),
            "the person's strings and the subject profile",
            "pseudonymise",
        ),
        Holding(
            "table",
            "saga_steps",
            ("result", "error", "outcome_detail"),
            "the person's strings",
            "pseudonymise",
        ),
        Holding(
            "table", "saga_timeline", ("error", "detail"), "the person's strings", "pseudonymise"
        ),
        Holding(
            "table",
            "dbos.workflow_status, dbos.operation_outputs, dbos.workflow_events ...",
            ("inputs", "output"),
            "the workflows of the person's finished runs",
        ),
    ),
    note="DBOS stores inputs and outputs as base64 pickles: a text scan cannot see them, so "
    "the eraser deletes the workflows of every run whose journal names the person. The "
    "person's runs that no engine has taken yet are cancelled first (queued_runs_cancelled).",
)
FINISHED = frozenset({"completed", "compensated", "cancelled"})
CANCELLED_BY_ERASURE = (
    "cancelled by an erasure before it started: its parameters named the erased person"
)


class SagasEraser:
    """The sagas' eraser; ``dispatcher`` gives the DBOS client of the process (lazily)."""

    def __init__(self, dispatcher: Callable[[], Dispatcher] | None = None) -> None:
        self._dispatcher = dispatcher

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Pseudonymise the person's runs and delete their finished workflows in DBOS."""
        needles = tuple({*person.needles, *person.profile_ids})
        runs = self._runs_of(conn, person.workspace_id, needles)
        queued = sorted(r for r, status in runs.items() if status == "queued")
        cancelled = self._cancel_queued(conn, queued)
        runs |= dict.fromkeys(cancelled, "cancelled")
        mine = saga_runs.c.workspace_id == person.workspace_id
        in_ws = select(saga_runs.c.id).where(mine).scalar_subquery()
        counts = {
            "saga_runs": pseudonymise_rows(
                conn, saga_runs, mine, ("plan", "reason", "profile_id"), needles
            ),
            "saga_steps": pseudonymise_rows(
                conn,
                saga_steps,
                saga_steps.c.run_id.in_(in_ws),
                ("result", "error", "outcome_detail"),
                needles,
            ),
            "saga_timeline": pseudonymise_rows(
                conn, saga_timeline, saga_timeline.c.run_id.in_(in_ws), ("error", "detail"), needles
            ),
        }
        done = sorted(r for r, status in runs.items() if status in FINISHED)
        busy = sorted(r for r, status in runs.items() if status not in FINISHED)
        counts["queued_runs_cancelled"] = len(cancelled)
        counts["dbos_workflows"] = self._delete_workflows(done)
        unfinished = tuple(
            f"run {run} is {runs[run]}: its DBOS checkpoints still hold the person's data; "
            "erase again once it has ended"
            for run in busy
        )
        return Erased(counts, unfinished)

    def _runs_of(
        self, conn: Connection, workspace_id: str, needles: tuple[str, ...]
    ) -> dict[str, str]:
        """The runs (id -> status) whose plan, steps or timeline hold any needle."""
        r, s, t = saga_runs.c, saga_steps.c, saga_timeline.c
        in_ws = select(r.id).where(r.workspace_id == workspace_id).scalar_subquery()
        ids = set(
            conn.execute(
                select(r.id).where(
                    r.workspace_id == workspace_id,
                    holds_any(r.plan, needles) | holds_any(r.reason, needles),
                )
            ).scalars()
        )
        ids |= set(
            conn.execute(
                select(s.run_id).where(
                    s.run_id.in_(in_ws),
                    holds_any(s.result, needles)
                    | holds_any(s.error, needles)
                    | holds_any(s.outcome_detail, needles),
                )
            ).scalars()
        )
        ids |= set(
            conn.execute(
                select(t.run_id).where(
                    t.run_id.in_(in_ws), holds_any(t.detail, needles) | holds_any(t.error, needles)
                )
            ).scalars()
        )
        if not ids:
            return {}
        rows = conn.execute(select(r.id, r.status).where(r.id.in_(sorted(ids)))).all()
        return {row.id: row.status for row in rows}

    def _cancel_queued(self, conn: Connection, run_ids: list[str]) -> list[str]:
        """Cancel the runs no engine has taken yet; the ids cancelled.

        Every one is marked cancel-requested first (an engine that takes it ends it at its first
        step). Those still waiting in DBOS's queue (or never queued: a crash between writing
        and queueing) are cancelled there and here, with the reason; one an engine already
        dequeued runs on, sees the request and ends itself.
        """
        if not run_ids:
            return []
        at = now_ms()
        conn.execute(
            update(saga_runs)
            .where(saga_runs.c.id.in_(run_ids), saga_runs.c.cancel_requested_ms.is_(None))
            .values(cancel_requested_ms=at)
        )
        waiting = self._dequeue(run_ids)
        if not waiting:
            return []
        conn.execute(
            update(saga_runs)
            .where(saga_runs.c.id.in_(waiting), saga_runs.c.status == "queued")
            .values(status="cancelled", reason=CANCELLED_BY_ERASURE, ended_ms=at)
        )
        first = conn.execute(
            select(saga_steps.c.run_id, saga_steps.c.step_id).where(
                saga_steps.c.run_id.in_(waiting), saga_steps.c.position == 0
            )
        ).all()
        if first:
            conn.execute(
                saga_timeline.insert(),
                [
                    {"run_id": row.run_id, "step_id": row.step_id, "phase": "erasure",
                     "attempt": 0, "status": "cancelled", "started_ms": at, "duration_ms": 0,
                     "error": CANCELLED_BY_ERASURE}
                    for row in first
                ],
            )  # fmt: skip
        return waiting

    def _dequeue(self, run_ids: list[str]) -> list[str]:
        """Cancel in DBOS the runs still waiting in its queue; those, and the runs DBOS does
        not know (nothing can execute them until they are queued again, and a run queued again
        reads its cancelled record first).

        DBOS cancels unconditionally: a run an engine dequeued between the listing and the
        cancellation (milliseconds) stops at its next checkpoint; its first step may have acted
        by then without being compensated. Runs already dequeued when listed are left to end
        themselves on the cancel request, compensating what they did.
        """
        if self._dispatcher is None:
            return list(run_ids)
        client = self._dispatcher().client()
        try:
            known = client.list_workflows(workflow_ids=run_ids, load_input=False,
                                          load_output=False)  # fmt: skip
            status = {w.workflow_id: w.status for w in known}
            waiting = [r for r in run_ids if status.get(r, "ENQUEUED") == "ENQUEUED"]
            queued = [r for r in waiting if r in status]
            if queued:
                client.cancel_workflows(queued)
        except Exception as exc:
            raise StoreError("cancel the person's queued runs", type(exc).__name__) from exc
        return waiting

    def _delete_workflows(self, run_ids: list[str]) -> int:
        if not run_ids or self._dispatcher is None:
            return 0
        client = self._dispatcher().client()
        try:
            repairs = client.list_workflows(
                workflow_id_prefix=[f"{run}.repair_" for run in run_ids], load_input=False,
                load_output=False,
            )  # fmt: skip
            ids = run_ids + [w.workflow_id for w in repairs]
            client.delete_workflows(ids, delete_children=True)
        except Exception as exc:
            raise StoreError("delete the runs' DBOS workflows", type(exc).__name__) from exc
        return len(ids)
