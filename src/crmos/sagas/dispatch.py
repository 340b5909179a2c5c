"""Queueing runs and messaging them from any process, through a DBOS client (no engine needed).

DBOS is imported on first use only, so commands that never touch runs start fast.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from crmos import __version__
from crmos.core.errors import StoreError
from crmos.core.settings import Settings
from crmos.store.engine import checkpoint_engine, driverless_url, is_sqlite_url

if TYPE_CHECKING:
    from dbos import DBOSClient, EnqueueOptions

WORKFLOW = "crmos.sagas.run"
REPAIR_WORKFLOW = "crmos.sagas.repair"
QUEUE = "crmos_runs"
APP_NAME = "crmos"

# Bump when the workflow's sequence of steps changes: DBOS replays a run only under the
# application version it started with, so old runs are never replayed into different code.
ENGINE_VERSION = "1"


def outcome_topic(step_id: str) -> str:
    """The DBOS message topic on which a step awaits its outcome."""
    return f"outcome:{step_id}"


def application_version(settings: Settings) -> str:
    """The DBOS application version of this build (``sagas.application_version`` wins)."""
    return settings.sagas.application_version or f"crmos-{__version__}-engine{ENGINE_VERSION}"


def system_database_url(settings: Settings) -> str:
    """Where DBOS keeps its checkpoints (see ``sagas.system_database_url``)."""
    if settings.sagas.system_database_url:
        return settings.sagas.system_database_url
    if is_sqlite_url(settings.store.url):
        return f"sqlite:///{Path(settings.home) / 'dbos.sqlite'}"
    return driverless_url(settings.store.url)


class Dispatcher:
    """Queues runs and delivers messages to them."""

    def __init__(self, settings: Settings) -> None:
        self.url = system_database_url(settings)
        self.version = application_version(settings)
        self._client: DBOSClient | None = None
        self._sysdb: sa.Engine | None = None
        self._lock = threading.Lock()

    def client(self) -> DBOSClient:
        """The DBOS client, creating the system database on first use."""
        with self._lock:
            return self._client or self._open()

    def _open(self) -> DBOSClient:
        from dbos import DBOS, DBOSClient

        try:
            DBOS.migrate(self.url)
            if is_sqlite_url(self.url):
                self._sysdb = checkpoint_engine(self.url, 4)
                client = DBOSClient(system_database_engine=self._sysdb, application_name=APP_NAME)
            else:
                client = DBOSClient(system_database_url=self.url, application_name=APP_NAME)
        except Exception as exc:
            raise StoreError("open the DBOS system database", str(exc)) from exc
        self._client = client
        return client

    def enqueue(
        self, run_id: str, head: dict[str, Any] | None = None, repair_id: str | None = None
    ) -> None:
        """Queue the run (with its ``head``: plan, trace, workspace), or with ``repair_id`` a
        repair of its compensations."""
        options: EnqueueOptions = {
            "workflow_name": REPAIR_WORKFLOW if repair_id else WORKFLOW,
            "queue_name": QUEUE,
            "workflow_id": repair_id or run_id,
            "app_version": self.version,
        }
        client = self.client()
        try:
            args = (run_id,) if head is None or repair_id else (run_id, head)
            client.enqueue(options, *args)
        except Exception as exc:
            raise StoreError(f"queue run {run_id}", str(exc)) from exc

    def send(self, run_id: str, topic: str, message: dict[str, Any], key: str) -> None:
        """Deliver ``message`` to the run's workflow on ``topic`` (once per ``key``)."""
        client = self.client()
        try:
            client.send(run_id, message, topic, idempotency_key=key)
        except Exception as exc:
            raise StoreError(f"message run {run_id}", str(exc)) from exc

    def close(self) -> None:
        """Release the client's connections."""
        if self._client is not None:
            self._client.destroy()
            self._client = None
        if self._sysdb is not None:
            self._sysdb.dispose()
            self._sysdb = None
