"""The composition root: builds settings, the store, the rooms, the stream, and hands them down.

:func:`build` runs in five phases, each using only what the phases before it built, so no
closure here names anything assigned later:

1. **settings**: from the arguments, the environment and ``crmos.toml``;
2. **store** (:func:`build_store`): the engine (migrated on request), the vault, the event log
   and its reader and writer;
3. **rooms** (:func:`build_rooms`): compliance, then intake (built once, with compliance's
   validators), playbooks, sagas runs (with the playbook components as actions), the agent,
   identity's stitcher and the graph;
4. **consumers** (:func:`stream_consumers`): the stream runner over the rooms' consumers, in
   the one order declared there with its reasons;
5. **faces**: the :class:`Container` the API, the CLI, the demo and the benchmarks use.

Three joints point both ways; each is made by a ``connect`` call once both ends exist:
compliance's rectification writes through intake (which uses compliance's validators), a
playbook's firings start runs (whose actions include the playbook components), and the agent
drains the stream (which feeds the agent's consumer). ``docs/architecture.md`` follows an
event through what is built here.

Nothing below this module reads environment variables or module globals.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine

from crmos import agent as agent_room
from crmos import analytics as analytics_room
from crmos import compliance as compliance_room
from crmos import graph as graph_room
from crmos import identity as identity_room
from crmos import playbooks as playbooks_room
from crmos import sagas as sagas_room
from crmos import store as store_room
from crmos import triggers as triggers_room
from crmos.agent import AgentConsumer, AgentService, IntentModels
from crmos.analytics import Analytics
from crmos.compliance import Compliance, ConsentGate, check_marketing, data_roots
from crmos.core.datamap import Room
from crmos.core.errors import ValidationError
from crmos.core.periodic import Periodic
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
    PartitionedRunner,
    StreamRunner,
)
from crmos.playbooks import Playbooks, load_components
from crmos.sagas import Dispatcher, Runs
from crmos.store import (
    EventLog,
    Tiers,
    Vault,
    WorkspaceStore,
    create_store_engine,
    is_sqlite,
    load_master_key,
    migrate,
    sqlite_path,
    tiers_of,
)

if TYPE_CHECKING:
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
    intake: IngestService
    stream: StreamRunner | PartitionedRunner
    runs: Runs
    compliance: Compliance
    agent: AgentService
    playbooks: Playbooks
    tiers: Tiers
    committer: GroupCommitter | None = None
    saga_engine: SagaEngine | None = None
    graph: GraphRuntime | None = None
    graph_sweeper: ExpirySweeper | None = None
    search_indexer: SearchIndexer | None = None
    analytics: Analytics | None = None
    analytics_refresher: Periodic | None = None
    tiers_mover: Periodic | None = None

    def ingest(self) -> IngestService:
        """The process's one intake service (group commit once :meth:`start_writer` ran)."""
        return self.intake

    def start_writer(self) -> None:
        """Start the group-commit writer thread used by the HTTP intake."""
        if self.committer is None:
            max_events = self.settings.intake.group_commit_max_events
            self.committer = GroupCommitter(self.writer, max_events)
            self.intake.use_committer(self.committer)

    def start_workers(self) -> None:
        """Start what a serving process runs: the intake writer, the event stream, the runs.

        ``stream.role`` narrows it: an ``api`` node only writes intake; a ``worker`` runs the
        rest (the stream, timers, sweepers, runs) and takes no intake of its own."""
        role = self.settings.stream.role
        if role != "worker":
            self.start_writer()
        if role == "api":
            return
        self.stream.start()
        self.compliance.worker.start()
        self.playbooks.start_timers()
        if self.graph is not None and self.graph_sweeper is None:
            self.graph_sweeper = self.graph.sweeper(self.engine)  # ended edges leave queries
            self.graph_sweeper.start()
        if self.search_indexer is None:  # profile search keeps up off the stream's path
            self.search_indexer = SearchIndexer(self.engine, self.vault.search_key, 1.0)
            self.search_indexer.start()
        every = self.settings.analytics.refresh_s
        if self.analytics is not None and every > 0 and self.analytics_refresher is None:
            self.analytics_refresher = Periodic(
                "analytics-refresh", every, self.analytics.refresh_all
            )
            self.analytics_refresher.start()  # CLV and likelihoods follow new events
        if self.settings.tiers.enabled and self.tiers_mover is None:  # hot -> warm -> cold
            self.tiers_mover = Periodic(
                "crmos-tiers", self.settings.tiers.interval_s, self.tiers.run_once
            )
            self.tiers_mover.start()
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
            self.playbooks.start_sandbox()  # component steps run in its children
            self.runs.requeue_stranded()

    def close(self) -> None:
        """Drain the writer, stop the stream and release database connections."""
        if self.committer is not None:
            self.intake.use_committer(None)
            self.committer.close()
            self.committer = None
        self.stream.close()
        if self.graph_sweeper is not None:
            self.graph_sweeper.close()
            self.graph_sweeper = None
        if self.search_indexer is not None:
            self.search_indexer.close()
            self.search_indexer = None
        if self.analytics_refresher is not None:
            self.analytics_refresher.close()
            self.analytics_refresher = None
        if self.tiers_mover is not None:
            self.tiers_mover.close()
            self.tiers_mover = None
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
    """Build a container from ``settings`` (or the environment and ``crmos.toml``), phase by
    phase: settings, store, rooms, consumers, faces (see the module's docstring)."""
    settings = settings or load_settings(**overrides)
    store = build_store(settings, migrate_store)
    rooms = build_rooms(settings, store)
    stream = build_stream(settings, store, rooms)
    # The one joint back from a room to the stream; an API node runs no consumers, and the
    # agent attaches late there (its own fallback) once a worker stitched the sender.
    rooms.agent.connect(stream.run_once if settings.stream.role != "api" else _nothing)
    return Container(
        settings=settings,
        engine=store.engine,
        workspaces=WorkspaceStore(store.engine),
        vault=store.vault,
        log=store.log,
        writer=store.writer,
        reader=store.reader,
        intake=rooms.intake,
        stream=stream,
        runs=rooms.runs,
        compliance=rooms.compliance,
        agent=rooms.agent,
        playbooks=rooms.playbooks,
        tiers=tiers_of(
            store.engine,
            settings.tiers,
            str(settings.home),
            stream.names,
            partitioned=isinstance(stream, PartitionedRunner),
        ),
        graph=rooms.graph,
        analytics=Analytics(store.engine, store.reader, settings.analytics),
    )


def build_stream(
    settings: Settings, store: Store, rooms: Rooms
) -> StreamRunner | PartitionedRunner:
    """Phase 4: one sequence in-process (embedded, and any SQLite store: one process holds
    every partition there), or leased partitions on PostgreSQL when ``stream.partitioned``."""
    consumers = stream_consumers(rooms)
    if settings.stream.partitioned and not is_sqlite(store.engine):
        return PartitionedRunner(
            store.engine,
            store.reader,
            consumers,
            settings.stream,
            identity_room.event_profiles,
            wake=store.committed,
            role=settings.stream.role,
        )
    return StreamRunner(store.engine, store.log, store.reader, consumers, wake=store.committed)


def _nothing() -> int:
    return 0


@dataclass(frozen=True, slots=True)
class Store:
    """Phase 2: the store, the vault and the event log."""

    engine: Engine
    vault: Vault
    log: EventLog
    reader: EventReader
    writer: EventWriter
    committed: threading.Event
    """Set by intake whenever it committed events; wakes the stream at once instead of at its
    next poll. Made here because intake (phase 3) is built before the stream (phase 4)."""


def build_store(settings: Settings, migrate_store: bool) -> Store:
    """Phase 2: open (and on request migrate) the store; the event log's reader and writer."""
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
    return Store(
        engine, vault, log, EventReader(log, vault), EventWriter(log, vault), threading.Event()
    )


@dataclass(frozen=True, slots=True)
class Rooms:
    """Phase 3: the rooms' services, each built from the ones before it."""

    compliance: Compliance
    intake: IngestService
    stitcher: Stitcher
    graph: GraphRuntime
    playbooks: Playbooks
    runs: Runs
    agent: AgentService


def build_rooms(settings: Settings, store: Store) -> Rooms:
    """Phase 3: the rooms. Intake is built once, here, with every validator; each path that
    writes events (API, CLI, demo, agent, a playbook's ``profile.tag``, DSR rectification)
    uses this one service."""
    engine = store.engine
    models = IntentModels(settings.home / "models", settings.agent.intent_model)
    dispatcher = Dispatcher(settings)  # the process's one DBOS client: runs and erasure share it
    compliance = Compliance(
        engine,
        store.vault,
        store.reader,
        data_roots(settings),
        letters=LetterWriter(Catalogs()),
        due=due_ms,
        rooms=erasure_rooms(settings, models, dispatcher),
    )
    intake = IngestService(
        settings.intake,
        store.writer,
        on_commit=store.committed.set,
        validators=[compliance.validator],  # CPF, CNPJ, VAT ... as each workspace configured
    )
    compliance.connect(intake)  # rectification writes corrected traits through intake
    playbooks = Playbooks(settings, engine, load_components(), (store.log, store.reader), _consent)
    runs = Runs(settings, engine, dispatcher=dispatcher)
    tag = functools.partial(_tag_events, intake)
    runs.add_actions(playbooks.actions(runs.action, intake=tag))  # components as saga steps
    playbooks.connect(  # firings start runs, and find them again by their decision (origin)
        lambda ws, request, origin: runs.start(ws, request, origin=origin).id, runs.by_origin
    )
    agent = AgentService(
        engine, settings.agent, models, events=functools.partial(_log_events, intake)
    )
    return Rooms(
        compliance=compliance,
        intake=intake,
        stitcher=Stitcher(settings.identity),
        graph=build_graph(settings.graph),
        playbooks=playbooks,
        runs=runs,
        agent=agent,
    )


def stream_consumers(rooms: Rooms) -> list[Consumer]:
    """Phase 4: the stream's consumers, in the one order they run. The runner never hands a
    consumer an event the one before it has not committed, so each may rely on its
    predecessors' effects:

    1. ``identity`` (the stitcher): every later room needs the event's profile;
    2. ``graph``: edges, role scores and audiences of the stitched profile; trigger conditions
       read them (``graph.*``);
    3. ``triggers``: windows, firings and their Decisions, given the profile and its graph;
       starts the firings' runs once its transaction committed;
    4. ``agent``: attaches interactions to the profile identity made of their event;
    5. ``compliance``: last, it acts on what every other room did (an erasure a complaint asks
       for must find the profile, edges, firings and interactions the event produced).

    A consumer's ``name`` keys its durable offset: never rename one.
    """
    return [
        rooms.stitcher,
        rooms.graph.consumer(),
        rooms.playbooks.consumer,
        AgentConsumer(rooms.agent),
        rooms.compliance.consumer,
    ]


def erasure_rooms(settings: Settings, models: IntentModels, dispatcher: Dispatcher) -> list[Room]:
    """Every room's data map and eraser, in the order an erasure calls them (the one place
    erasers are registered: a room left out here with personal data makes erasures incomplete).

    Rooms are erased against the data flow, so no room re-derives data from one already erased.
    """
    return [
        Room(agent_room.DATA_MAP, agent_room.AgentEraser(models)),
        Room(sagas_room.DATA_MAP, sagas_room.SagasEraser(lambda: dispatcher)),
        Room(playbooks_room.DATA_MAP, playbooks_room.PlaybooksEraser()),
        Room(analytics_room.DATA_MAP, analytics_room.AnalyticsEraser()),
        Room(triggers_room.DATA_MAP, None),  # stateless: its state is playbooks'
        Room(graph_room.DATA_MAP, graph_room.GraphEraser()),
        Room(identity_room.DATA_MAP, identity_room.IdentityEraser()),
        Room(store_room.EVENT_LOG, store_room.EventLogEraser()),
        Room(store_room.TIERS, store_room.TiersEraser()),
        Room(store_room.RECORDS, store_room.RecordsEraser()),
        Room(compliance_room.DATA_MAP, compliance_room.RegionsEraser()),
        Room(
            compliance_room.FILES,
            compliance_room.FilesEraser(
                data_roots(settings),
                [settings.home / "models", settings.home / "tiers"],  # tiers: TiersEraser
                sqlite_files(settings),
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


def _tag_events(intake: IngestService, workspace_id: str, message: dict[str, Any]) -> None:
    """Write a playbook's ``profile.tag`` identify call through the intake service.

    Its source stays ``agent``, as it always was: identity's source precedence ranks traits by
    source, so a new source name would change which tag wins."""
    _log_events(intake, workspace_id, [message])
