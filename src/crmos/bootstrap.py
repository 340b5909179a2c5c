"""The composition root: builds settings, the store, the services, and hands them down.

Nothing below this module reads environment variables or module globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from crmos.core.settings import Settings, load_settings
from crmos.identity import Stitcher
from crmos.ingest import (
    Consumer,
    EventReader,
    EventWriter,
    GroupCommitter,
    IngestService,
    StreamRunner,
)
from crmos.store import (
    EventLog,
    Vault,
    WorkspaceStore,
    create_store_engine,
    load_master_key,
    migrate,
)


@dataclass(slots=True)
class Container:
    """Everything a process of crmos needs, built once."""

    settings: Settings
    engine: Engine
    workspaces: WorkspaceStore
    vault: Vault
    log: EventLog
    writer: EventWriter
    reader: EventReader
    stream: StreamRunner
    committer: GroupCommitter | None = None

    def ingest(self) -> IngestService:
        """The intake service (with group commit once :meth:`start_writer` ran)."""
        return IngestService(
            self.settings.intake, self.writer, self.committer, on_commit=self.stream.notify
        )

    def start_writer(self) -> None:
        """Start the group-commit writer thread used by the HTTP intake."""
        if self.committer is None:
            max_events = self.settings.intake.group_commit_max_events
            self.committer = GroupCommitter(self.writer, max_events)

    def start_workers(self) -> None:
        """Start what a serving process runs: the intake writer and the event stream."""
        self.start_writer()
        self.stream.start()

    def close(self) -> None:
        """Drain the writer, stop the stream and release database connections."""
        if self.committer is not None:
            self.committer.close()
            self.committer = None
        self.stream.close()
        self.engine.dispose()


def build(
    settings: Settings | None = None, *, migrate_store: bool = False, **overrides: Any
) -> Container:
    """Build a container from ``settings`` (or the environment and ``crmos.toml``)."""
    settings = settings or load_settings(**overrides)
    engine = create_store_engine(settings.store)
    if migrate_store:
        migrate(engine)
    master = load_master_key(
        settings.security.master_key.get_secret_value() if settings.security.master_key else None,
        settings.home,
        production=settings.env == "production",
    )
    vault = Vault(engine, master)
    log = EventLog(engine)
    reader = EventReader(log, vault)
    # Downstream rooms, in flow order (identity, graph, triggers ...), consume the event log.
    consumers: list[Consumer] = [Stitcher(settings.identity)]
    return Container(
        settings=settings,
        engine=engine,
        workspaces=WorkspaceStore(engine),
        vault=vault,
        log=log,
        writer=EventWriter(log, vault),
        reader=reader,
        stream=StreamRunner(engine, log, reader, consumers),
    )
