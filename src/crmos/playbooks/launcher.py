"""Starting the runs of firings, after the transaction that recorded them committed.

The trigger consumer writes each firing to an outbox (``playbook_firings``, unique per playbook
and event) and, once its transaction committed, hands the new firing ids to :meth:`launch_ids`
in the same thread. A launch claims the batch's firings in one write (``pending`` ->
``starting``, committed), starts their runs through the sagas engine (several at once on
PostgreSQL) and records the run ids in one more write. A firing is claimed once (a conditional
update), so the same event never starts the same playbook twice. Whatever is
still ``pending`` (an approved firing, a launch that failed) is picked up by :meth:`launch`,
which the background thread calls every second.

A crash between the claim and the run id being recorded leaves a firing ``starting``.
:meth:`recover` settles those whose launch began more than five minutes ago (no live launch
takes that long): the sagas journal, where a run is written before it is queued, says whether
the run exists; if it does the firing records it, if not the firing is pending again and is
launched once. (A run written but never queued is queued again by the sagas engine.) Each run
is started with its firing's decision id as its origin, which is how the journal finds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, select, update

from crmos.core.errors import CrmosError
from crmos.core.logsafe import get_logger
from crmos.core.periodic import Periodic
from crmos.playbooks.firing import loads
from crmos.store import single_writer
from crmos.store.tables_playbooks import playbook_firings as fir

log = get_logger(__name__)  # exception messages withheld (core.logsafe)
StartRun = Callable[[str, dict[str, Any], str], str]  # (workspace, request, origin) -> run id


class StartedRun(Protocol):
    """What the launcher reads of a run the sagas journal holds."""

    @property
    def id(self) -> str:
        """The run id."""

    @property
    def created_ms(self) -> int:
        """When the run was written."""


FindRun = Callable[[str, str], StartedRun | None]  # (workspace, origin) -> the run it started
POLL_S = 1.0
STALE_MS = 300_000  # a launch that began longer ago than this was interrupted
RECOVER_EVERY = 60  # polls between two recoveries


class Launcher:
    """Starts the runs of pending firings: right after they commit, and in the background."""

    def __init__(
        self,
        engine: Engine,
        start_run: StartRun,
        find_run: FindRun,
        clock: Callable[[], int],
        workers: int = 1,
    ) -> None:
        self.engine = engine
        self.start_run = start_run
        self.find_run = find_run
        self.clock = clock
        # Starting a run is a few round trips to the store: on PostgreSQL several go at once;
        # SQLite takes one writer at a time, so there they would only queue for its lock.
        self.workers = 1 if single_writer(engine) else workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._polls = 0
        self._thread = Periodic("crmos-launcher", POLL_S, self._poll)

    def start(self) -> None:
        """Launch what is pending in a background thread, every second."""
        self._thread.start()

    def close(self) -> None:
        """Stop the background thread."""
        self._thread.close(timeout=10)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _poll(self) -> None:
        polls, self._polls = self._polls, self._polls + 1
        if polls % RECOVER_EVERY == 0:
            self.recover()
        self.launch()

    def recover(self, stale_ms: int = STALE_MS) -> int:
        """Settle the firings left ``starting`` by an interrupted launch; how many."""
        cutoff = self.clock() - stale_ms
        stmt = select(fir.c.id, fir.c.workspace_id, fir.c.decision_id, fir.c.request).where(
            fir.c.status == "starting", fir.c.started_ms < cutoff
        )
        with self._lock:
            with self.engine.connect() as conn:
                rows = conn.execute(stmt).all()
            for row in rows:
                # The journal writes a run before it is queued: it says whether one exists.
                run = None
                if row.decision_id is not None:
                    run = self.find_run(row.workspace_id, row.decision_id)
                values: dict[str, Any] = {"status": "pending", "started_ms": None}
                if run is not None:
                    values = {"status": "started", "run_id": run.id, "started_ms": run.created_ms}
                with self.engine.begin() as conn:
                    still = (fir.c.id == row.id) & (fir.c.status == "starting")
                    conn.execute(update(fir).where(still).values(**values))
                log.warning("firing %s was left starting; now %s", row.id, values["status"])
        return len(rows)

    def launch_ids(self, firing_ids: Sequence[str]) -> list[str]:
        """Start the runs of these just-committed firings (those still pending); the run ids."""
        return self._launch(fir.c.id.in_(list(firing_ids)))

    def launch(self, limit: int = 200) -> list[str]:
        """Start the runs of up to ``limit`` pending firings, oldest first; the run ids."""
        oldest = select(fir.c.id).where(fir.c.status == "pending")
        return self._launch(fir.c.id.in_(oldest.order_by(fir.c.created_ms, fir.c.id).limit(limit)))

    def _launch(self, which: Any) -> list[str]:
        """Claim the pending firings ``which`` selects (one write), start their runs, then
        record the outcomes (one write): two transactions for the whole batch. The claim is a
        conditional update, so concurrent launchers never claim the same firing."""
        rows = self._claim(which)
        started: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        try:
            for row, outcome in zip(rows, self._start_all(rows), strict=True):
                if isinstance(outcome, CrmosError):
                    log.error("firing %s could not start its run: %s", row.id, outcome)
                    failed.append({"fid": row.id, "why": str(outcome)[:2000]})
                else:
                    started.append({"fid": row.id, "rid": outcome[0], "at": outcome[1]})
        finally:
            # Also when a launch raised something unexpected: what started is recorded, and
            # the firings not reached stay ``starting`` until :meth:`recover` settles them.
            if started or failed:
                self._settle(started, failed)
        return [s["rid"] for s in started]

    def _start_all(self, rows: list[Any]) -> Iterator[tuple[str, int] | CrmosError]:
        """(run id, start time) or the refusal of each row's run, in order."""
        if self.workers == 1 or len(rows) < 2:
            return (self._start_one(row) for row in rows)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="crmos-launch")
        return self._pool.map(self._start_one, rows)

    def _start_one(self, row: Any) -> tuple[str, int] | CrmosError:
        try:
            run_id = self.start_run(row.workspace_id, loads(row.request), row.decision_id)
            return run_id, self.clock()
        except CrmosError as exc:
            return exc

    def _claim(self, which: Any) -> list[Any]:
        # Written first (no read before it): a SQLite transaction that read first could not
        # take the write lock after another writer committed. ``started_ms`` holds when the
        # launch began until the run id replaces it.
        stmt = (
            update(fir)
            .where(which, fir.c.status == "pending")
            .values(status="starting", started_ms=self.clock())
            .returning(
                fir.c.id, fir.c.workspace_id, fir.c.decision_id, fir.c.request, fir.c.created_ms
            )
        )
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        return sorted(rows, key=lambda r: (r.created_ms, r.id))

    def _settle(self, started: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
        one = fir.c.id == bindparam("fid")
        with self.engine.begin() as conn:
            if started:
                stmt = (
                    update(fir)
                    .where(one)
                    .values(status="started", run_id=bindparam("rid"), started_ms=bindparam("at"))
                )
                conn.execute(stmt, started)
            if failed:
                stmt = update(fir).where(one).values(status="failed", reason=bindparam("why"))
                conn.execute(stmt, failed)
