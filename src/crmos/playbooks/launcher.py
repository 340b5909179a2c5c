"""Starting the runs of firings, after the transaction that recorded them committed.

The trigger consumer writes each firing to an outbox (``playbook_firings``, unique per playbook
and event). The launcher, the next stream consumer, claims pending firings on its own
connection (``pending`` -> ``starting``, committed), starts the run through the sagas engine
and records the run id. A firing is claimed once, so the same event never starts the same
playbook twice; a crash between claim and start leaves it ``starting`` for a person to check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from crmos.core.errors import CrmosError
from crmos.core.event import Event
from crmos.playbooks.firing import loads
from crmos.store.tables_playbooks import playbook_firings as fir

log = logging.getLogger(__name__)
StartRun = Callable[[str, dict[str, Any]], str]  # (workspace, run request) -> run id


class Launcher:
    """The ``playbook-launcher`` stream consumer (and the timer thread's second half)."""

    name = "playbook-launcher"

    def __init__(self, engine: Engine, start_run: StartRun, clock: Callable[[], int]) -> None:
        self.engine = engine
        self.start_run = start_run
        self.clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Firings were recorded (their transaction commits right after): launch them soon."""
        self._wake.set()

    def start(self) -> None:
        """Launch in a background thread, woken by :meth:`wake` (and every second)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="crmos-launcher", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(1.0)
            self._wake.clear()
            # Woken before the recording transaction committed: look again a few times.
            for _ in range(200 if woken else 1):
                try:
                    if self.launch() or self._stop.is_set():
                        break
                except Exception:
                    log.exception("launching firings failed; retrying")
                self._stop.wait(0.005)

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Start the runs of pending firings (the events themselves need nothing more)."""
        self.launch()

    def launch(self, limit: int = 200) -> list[str]:
        """Start the runs of up to ``limit`` pending firings; returns the run ids."""
        with self._lock:
            with self.engine.connect() as conn:
                stmt = select(fir.c.id, fir.c.workspace_id, fir.c.request)
                stmt = stmt.where(fir.c.status == "pending").order_by(fir.c.created_ms)
                rows = conn.execute(stmt.limit(limit)).all()
            return [run for row in rows if (run := self._start(row)) is not None]

    def _start(self, row: Any) -> str | None:
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(fir)
                .where(fir.c.id == row.id, fir.c.status == "pending")
                .values(status="starting")
            ).rowcount
        if not claimed:
            return None
        try:
            run_id = self.start_run(row.workspace_id, loads(row.request))
        except CrmosError as exc:
            log.error("firing %s could not start its run: %s", row.id, exc)
            self._set(row.id, status="failed", reason=str(exc)[:2000])
            return None
        self._set(row.id, status="started", run_id=run_id, started_ms=self.clock())
        return run_id

    def _set(self, firing_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(fir).where(fir.c.id == firing_id).values(**values))
