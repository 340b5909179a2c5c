"""The composition root: builds settings, the store, the services, and hands them down.

Nothing below this module reads environment variables or module globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine

from crmos import agent as agent_room
from crmos import compliance as compliance_room
from crmos import graph as graph_room
from crmos import identity as identity_room
from crmos import playbooks as playbooks_room
from crmos import sagas as sagas_room
from crmos import store as store_room
from crmos import triggers as triggers_room
from crmos.agent import AgentConsumer, AgentService, IntentModels
from crmos.compliance import Compliance, ConsentGate, check_marketing, data_roots
from crmos.core.datamap import Room
from crmos.core.errors import ValidationError
from crmos.core.settings import Settings, load_settings
from crmos.graph import ExpirySweeper, GraphRuntime, build_graph
from crmos.i18n import Catalogs, LetterWriter, due_ms
from crmos.identity import SearchIndexer, Stitcher
from crmos.ingest import (
    Consumer,
    EventReader,
    EventWriter,
    GroupCommitter,
    IngestService,
    StreamRunner,
)
from crmos.playbooks import Playbooks, load_components
from crmos.sagas import Runs
from crmos.store import (
    EventLog,
    Vault,
    WorkspaceStore,
    create_store_engine,
    load_master_key,
    migrate,
    sqlite_path,
)

if TYPE_CHECKING:
    from crmos.sagas import Dispatcher
    from crmos.sagas import Engine as SagaEngine


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
    runs: Runs
    compliance: Compliance
    agent: AgentService
    playbooks: Playbooks
    committer: GroupCommitter | None = None
    saga_engine: SagaEngine | None = None
    graph: GraphRuntime | None = None
    graph_sweeper: ExpirySweeper | None = None
    search_indexer: SearchIndexer | None = None

    def ingest(self) -> IngestService:
        """The intake service (with group commit once :meth:`start_writer` ran)."""
        return IngestService(
            self.settings.intake,
            self.writer,
            self.committer,
            on_commit=self.stream.notify,
            validators=[self.compliance.validator],
        )

    def start_writer(self) -> None:
        """Start the group-commit writer thread used by the HTTP intake."""
        if self.committer is None:
            max_events = self.settings.intake.group_commit_max_events
            self.committer = GroupCommitter(self.writer, max_events)

    def start_workers(self) -> None:
        """Start what a serving process runs: the intake writer, the event stream, the runs."""
        self.start_writer()
        self.stream.start()
        self.compliance.worker.start()
        self.playbooks.start_timers()
        if self.graph is not None and self.graph_sweeper is None:
            self.graph_sweeper = self.graph.sweeper(self.engine)  # ended edges leave queries
            self.graph_sweeper.start()
        if self.search_indexer is None:  # profile search keeps up off the stream's path
            self.search_indexer = SearchIndexer(self.engine, self.vault.search_key, 1.0)
            self.search_indexer.start()
        if self.settings.sagas.embedded:
            self.start_engine()

    def start_engine(self) -> None:
        """Execute runs in this process (``crmos worker``, or embedded in ``crmos serve``)."""
        if self.saga_engine is None:
            from crmos.sagas import Engine

            # Actions that send to a person check consent themselves, whoever started the run.
            consent = ConsentGate(self.engine)
            engine = Engine(self.settings, self.engine, self.runs.registry, consent=consent)
            engine.start()
            self.saga_engine = engine
            self.runs.requeue_stranded()

    def close(self) -> None:
        """Drain the writer, stop the stream and release database connections."""
        if self.committer is not None:
            self.committer.close()
            self.committer = None
        self.stream.close()
        if self.graph_sweeper is not None:
            self.graph_sweeper.close()
            self.graph_sweeper = None
        if self.search_indexer is not None:
            self.search_indexer.close()
            self.search_indexer = None
        self.playbooks.close()
        self.compliance.worker.close()
        if self.saga_engine is not None:
            self.saga_engine.stop()
            self.saga_engine = None
        self.runs.close()
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
    writer = EventWriter(log, vault)
    models = IntentModels(settings.home / "models")
    compliance = Compliance(
        engine,
        vault,
        reader,
        data_roots(settings),
        intake=lambda: IngestService(
            settings.intake, writer, on_commit=stream.notify, validators=[compliance.validator]
        ),
        letters=LetterWriter(Catalogs()),
        due=due_ms,
        rooms=erasure_rooms(settings, models, lambda: runs.dispatcher),
    )
    # Downstream rooms, in flow order (identity, graph, triggers ...), consume the event log.
    graph = build_graph(settings.graph)
    stitcher = Stitcher(settings.identity)
    playbooks = Playbooks(settings, engine, load_components(), (log, reader), _consent)
    consumers: list[Consumer] = [
        stitcher,
        graph.consumer(),
        playbooks.consumer,  # triggers: windows, firings + decisions; starts runs once committed
    ]
    agent = AgentService(
        engine,
        settings.agent,
        models,
        events=lambda ws, messages: _log_events(
            IngestService(settings.intake, writer, on_commit=stream.notify), ws, messages
        ),
        drain=lambda: stream.run_once(),
    )
    consumers.append(AgentConsumer(agent))  # attaches interactions once identity stitched them
    consumers.append(compliance.consumer)  # compliance acts on what every other room did
    stream = StreamRunner(engine, log, reader, consumers)
    runs = Runs(
        settings,
        engine,
        extra_actions=playbooks.actions(
            lambda name: runs.registry.get(name),
            intake=lambda ws, message: _log_events(
                IngestService(settings.intake, writer, on_commit=stream.notify), ws, [message]
            ),
        ),
    )
    playbooks.connect(
        lambda ws, request, origin: runs.start(ws, request, origin=origin).id, runs.by_origin
    )
    return Container(
        settings=settings,
        engine=engine,
        workspaces=WorkspaceStore(engine),
        vault=vault,
        log=log,
        writer=writer,
        reader=reader,
        stream=stream,
        runs=runs,
        compliance=compliance,
        agent=agent,
        playbooks=playbooks,
        graph=graph,
    )


def erasure_rooms(
    settings: Settings, models: IntentModels, dispatcher: Callable[[], Dispatcher]
) -> list[Room]:
    """Every room's data map and eraser, in the order an erasure calls them (the one place
    erasers are registered: a room left out here with personal data makes erasures incomplete).

    Rooms are erased against the data flow, so no room re-derives data from one already erased.
    """
    return [
        Room(agent_room.DATA_MAP, agent_room.AgentEraser(models)),
        Room(sagas_room.DATA_MAP, sagas_room.SagasEraser(dispatcher)),
        Room(playbooks_room.DATA_MAP, playbooks_room.PlaybooksEraser()),
        Room(triggers_room.DATA_MAP, None),  # stateless: its state is playbooks'
        Room(graph_room.DATA_MAP, graph_room.GraphEraser()),
        Room(identity_room.DATA_MAP, identity_room.IdentityEraser()),
        Room(store_room.EVENT_LOG, store_room.EventLogEraser()),
        Room(store_room.RECORDS, store_room.RecordsEraser()),
        Room(compliance_room.DATA_MAP, compliance_room.RegionsEraser()),
        Room(
            compliance_room.FILES,
            compliance_room.FilesEraser(
                data_roots(settings), [settings.home / "models"], sqlite_files(settings)
            ),
        ),
    ]


def sqlite_files(settings: Settings) -> list[Path]:
    """The SQLite databases crmos keeps (the store, DBOS's system database), if any."""
    found = []
    for url in (settings.store.url, sagas_room.system_database_url(settings)):
        path = sqlite_path(url)
        if path is not None:
            found.append(path)
    return found


def _consent(conn: Connection, workspace_id: str, profile_id: str, purpose: str) -> bool:
    """May a playbook act for ``purpose`` on ``profile_id`` (consent and packs, by e-mail)?"""
    return check_marketing(conn, workspace_id, profile_id, purpose, "email").allowed


def _log_events(intake: IngestService, workspace_id: str, messages: list[dict[str, Any]]) -> None:
    """Write the agent's events (interactions, hand-overs) through the intake service."""
    lines = [orjson.dumps(m) for m in messages]
    for report in intake.ingest_lines(workspace_id, "agent", lines):
        if report.rejected:
            raise ValidationError("agent event rejected by intake", report.problems)
