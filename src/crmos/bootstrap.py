"""The composition root: builds settings, the store, the services, and hands them down.

Nothing below this module reads environment variables or module globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from crmos.core.settings import Settings, load_settings
from crmos.ingest import EventReader, EventWriter, GroupCommitter, IngestService
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
    committer: GroupCommitter | None = None

    def ingest(self) -> IngestService:
        """The intake service (with group commit once :meth:`start_writer` ran)."""
        return IngestService(self.settings.intake, self.writer, self.committer)

    def start_writer(self) -> None:
        """Start the group-commit writer thread used by the HTTP intake."""
        if self.committer is None:
            self.committer = GroupCommitter(
                self.writer, self.settings.intake.group_commit_max_events
            )

    def close(self) -> None:
        """Drain the writer and release database connections."""
        if self.committer is not None:
            self.committer.close()
            self.committer = None
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
    return Container(
        settings=settings,
        engine=engine,
        workspaces=WorkspaceStore(engine),
        vault=vault,
        log=log,
        writer=EventWriter(log, vault),
        reader=EventReader(log, vault),
    )
