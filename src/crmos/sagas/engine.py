"""The DBOS engine of a process: it executes queued runs and resumes interrupted ones.

Embedded (``crmos serve``) and scale-out (any number of ``crmos worker``) run the same
engine: runs wait on one DBOS queue in the system database and each engine dequeues up to
``sagas.concurrency`` of them. Processes that only submit runs (an API process, the CLI) use a
:class:`~crmos.sagas.dispatch.Dispatcher`, a DBOS client that needs no engine.

The system database is SQLite (a file beside the store, WAL, ``synchronous=NORMAL``: a killed
process loses no committed checkpoint) or PostgreSQL (the store's database, schema ``dbos``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig

from crmos.core.errors import ConfigError, StoreError
from crmos.core.settings import Settings
from crmos.sagas.bodies import Runtime
from crmos.sagas.dispatch import (
    APP_NAME,
    QUEUE,
    application_version,
    system_database_url,
)
from crmos.sagas.journal import Journal
from crmos.sagas.ports import ConsentPort
from crmos.sagas.registry import ActionRegistry
from crmos.sagas.runner import StepRunner
from crmos.sagas.tracing import Tracing
from crmos.sagas.workflow import install
from crmos.store.engine import checkpoint_engine, is_sqlite_url


def _off_loop(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a thread of its own: DBOS refuses its blocking calls on an event loop
    (``crmos serve`` starts the engine from the ASGI lifespan)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="crmos-saga-engine")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _quiet_dbos() -> None:
    logging.getLogger("dbos").setLevel(logging.WARNING)


class Engine:
    """This process's DBOS engine: executes queued runs and resumes its interrupted ones."""

    def __init__(
        self,
        settings: Settings,
        store: sa.Engine,
        registry: ActionRegistry,
        tracing: Tracing | None = None,
        executor_id: str | None = None,
        consent: ConsentPort | None = None,
    ) -> None:
        self.settings = settings
        self.consent = consent
        self.registry = registry
        self.journal = Journal(store)
        self.tracing = tracing or Tracing(console=settings.sagas.trace_console)
        self.executor_id = executor_id or settings.sagas.executor_id
        self.url = system_database_url(settings)
        self.version = application_version(settings)
        self._runner: StepRunner | None = None
        self._sysdb: sa.Engine | None = None

    def start(self) -> None:
        """Launch DBOS: recover this executor's interrupted runs and listen to the run queue."""
        if DBOS_RUNNING:
            raise ConfigError("sagas", "a saga engine already runs in this process")
        sagas = self.settings.sagas
        self._runner = StepRunner(
            self.journal,
            self.registry,
            self.tracing,
            sagas.concurrency * 4,
            self.executor_id,
            self.consent,
        )
        install(Runtime(self.journal, self._runner, self.executor_id, sagas.compensation_attempts))
        try:
            _off_loop(self._launch)
        except Exception as exc:
            self._teardown()
            raise StoreError("start the saga engine", str(exc)) from exc
        DBOS_RUNNING.append(self)

    def _launch(self) -> None:
        sagas = self.settings.sagas
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.url,
            "application_version": self.version,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
            "sys_db_pool_size": sagas.concurrency + 8,
            "notification_listener_polling_interval_sec": min(sagas.poll_interval_s, 1.0),
        }
        if is_sqlite_url(self.url):
            self._sysdb = checkpoint_engine(self.url, sagas.concurrency + 8)
            config["system_database_engine"] = self._sysdb
        # The queue exists before launch, so the queue thread serves it from its first pass
        # (a queue registered after launch waits for the next pass, a second later).
        DBOS.migrate(self.url)
        client = DBOSClient(
            system_database_engine=self._sysdb,
            system_database_url=None if self._sysdb else self.url,
            application_name=APP_NAME,
        )
        try:
            client.register_queue(
                QUEUE,
                worker_concurrency=sagas.concurrency,
                polling_interval_sec=sagas.poll_interval_s,
                on_conflict="always_update",
            )
        finally:
            client.destroy()
        DBOS(config=config)
        _quiet_dbos()
        DBOS.launch()

    def stop(self) -> None:
        """Stop DBOS; runs in flight are resumed by the next start with the same executor id."""
        if self in DBOS_RUNNING:
            DBOS_RUNNING.remove(self)
        self._teardown()

    def _teardown(self) -> None:
        _off_loop(lambda: DBOS.destroy(destroy_registry=False))
        install(None)
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._sysdb is not None:
            self._sysdb.dispose()
            self._sysdb = None


# The engine running in this process (DBOS allows one per process).
DBOS_RUNNING: list[Engine] = []
