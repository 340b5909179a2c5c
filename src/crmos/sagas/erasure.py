"""The sagas' part of an erasure: run parameters and results, and DBOS's checkpoints of them.

A run is a business record (which contract was drafted, which material locked), so its rows
stay with the person's strings replaced by aliases: the plan's input, step results, outcome
details, errors and the timeline. DBOS keeps the run's input and every step's output as
pickles in its own tables (``workflow_status``, ``operation_outputs`` ...); a finished run's
workflows (the run and its repairs) are deleted there through DBOS's client. A run still in
flight, or one that needs attention, still needs them: it is named as unfinished, and the
erasure ends ``incomplete`` until it is repeated after the run ends.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select

from crmos.core.datamap import DataMap, Erased, Holding, Person
from crmos.core.errors import StoreError
from crmos.sagas.dispatch import Dispatcher
from crmos.store import holds_any, pseudonymise_rows
from crmos.store.tables_sagas import saga_runs, saga_steps, saga_timeline

DATA_MAP = DataMap(
    room="sagas",
    holdings=(
        Holding("table", "saga_runs", ("plan", "reason"), "the person's strings", "pseudonymise"),
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
    "the eraser deletes the workflows of every run whose journal names the person.",
)
FINISHED = frozenset({"completed", "compensated", "cancelled"})


class SagasEraser:
    """The sagas' eraser; ``dispatcher`` gives the DBOS client of the process (lazily)."""

    def __init__(self, dispatcher: Callable[[], Dispatcher] | None = None) -> None:
        self._dispatcher = dispatcher

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Pseudonymise the person's runs and delete their finished workflows in DBOS."""
        needles = tuple({*person.needles, *person.profile_ids})
        runs = self._runs_of(conn, person.workspace_id, needles)
        mine = saga_runs.c.workspace_id == person.workspace_id
        in_ws = select(saga_runs.c.id).where(mine).scalar_subquery()
        counts = {
            "saga_runs": pseudonymise_rows(conn, saga_runs, mine, ("plan", "reason"), needles),
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
