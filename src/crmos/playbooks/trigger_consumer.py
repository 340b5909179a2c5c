"""The trigger consumer: feeds the event stream through the playbooks in force, per profile.

Runs in the stream's transaction after identity and graph (the stream never hands it an event
they have not handled): the trigger state it changes, the timers it sets, the firings and
Decisions it writes and its stream offset commit together, so a crash never loses or repeats a
firing. Once that transaction committed (the stream's ``committed`` hook) it starts the runs of
its firings at once, in the stream's thread, without another poll.
Window state is cached in memory and written through to ``trigger_state``; when a transaction
does not commit (``rolled_back``, the stream's one replay rule) the cache is dropped and read
again from the store. The timer thread (:meth:`TriggerConsumer.tick`) follows the same rule.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select

from crmos.core.event import Event
from crmos.ingest import Consumer
from crmos.playbooks.components import ComponentRegistry
from crmos.playbooks.firing import ConsentCheck, judge, record
from crmos.playbooks.profiles import (
    ProfileFacts,
    activation,
    facts_of,
    graph_facts,
    profiles_of,
    ts_ms,
)
from crmos.playbooks.spec import Playbook, parse
from crmos.playbooks.versions import all_in_force
from crmos.store.tables_playbooks import (
    playbook_activations,
    playbook_timers,
    trigger_state,
    upsert_replace,
)
from crmos.triggers import Evaluable, Evaluator, EventView, Firing, Trigger

Launch = Callable[[Sequence[str]], object]  # starts the runs of these committed firing ids
CHUNK = 400  # profiles per state query (bound parameters stay well under SQLite's limit)
_GRAPH = re.compile(r"\bgraph\b")


@dataclass(slots=True)
class Workspace:
    """The playbooks in force in one workspace, and their evaluator."""

    playbooks: dict[str, Playbook]
    evaluator: Evaluator
    needs_graph: bool = False  # a condition reads ``graph``: fetch graph facts per profile
    loaded: set[str] = field(default_factory=set)  # profiles whose state was read


def evaluator_of(playbooks: Sequence[Playbook]) -> Evaluator:
    """An evaluator over the triggers of ``playbooks``."""
    return Evaluator(Trigger(p.id, p.hash, p.pattern, p.trigger_condition) for p in playbooks)


def reads_graph(playbook: Playbook) -> bool:
    """Whether any condition of ``playbook`` (selectors, trigger, audience) reads ``graph``."""
    conditions: list[Evaluable | None] = [s.where for s in playbook.pattern.selectors]
    conditions += [playbook.condition, playbook.audience]
    return any(c is not None and _GRAPH.search(c.source) for c in conditions)


class TriggerConsumer(Consumer):
    """The ``triggers`` stream consumer (and the timer thread's first half)."""

    name = "triggers"
    # Near the log's head, commit (and start the runs of) firings every few events rather than
    # after a large batch: the fire-to-run latency is what a playbook's user waits for.
    near_head_batch = 32

    def __init__(
        self,
        registry: ComponentRegistry,
        retention_ms: int,
        clock: Callable[[], int],
        consent: ConsentCheck | None = None,
        launch: Launch | None = None,
    ) -> None:
        self.registry = registry
        self.retention_ms = retention_ms
        self.clock = clock
        self.consent = consent
        self.launch = launch
        self._workspaces: dict[str, Workspace] = {}
        self._generation: int | None = None
        self._fired: list[str] = []  # firing ids written in the transaction not yet settled
        self._open = False  # memory holds changes whose transaction has not settled yet
        self._lock = threading.Lock()

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Evaluate ``events`` (in log order); fire due timers first."""
        with self._lock:
            self._open = True  # until the stream settles the transaction (committed/rolled_back)
            self._refresh(conn)
            self._due(conn, self.clock())
            self._events(conn, events)
            self._flush(conn)

    def committed(self) -> None:
        """The stream committed our transaction: start the runs of its firings now."""
        with self._lock:
            self._open = False
            fired, self._fired = self._fired, []
        if fired and self.launch is not None:
            self.launch(fired)

    def rolled_back(self) -> None:
        """Our transaction did not commit: forget what memory holds beyond the store."""
        with self._lock:
            self.invalidate()

    def invalidate(self) -> None:
        """Forget the cached state; it is read again from the store."""
        self._workspaces.clear()
        self._generation = None
        self._fired = []
        self._open = False

    def tick(self, conn: Connection) -> list[str]:
        """Fire the absence timers that are due now; returns the ids of the firings written.

        Skipped (nothing fired) while a stream transaction has not settled: its changes are in
        memory but not yet in the store; the next tick fires what is due.
        """
        with self._lock:
            if self._open:
                return []
            try:
                self._refresh(conn)
                self._due(conn, self.clock())
                self._flush(conn)
            except BaseException:
                self.invalidate()
                raise
            fired, self._fired = self._fired, []
            return fired

    def _refresh(self, conn: Connection) -> None:
        generation = conn.execute(select(func.max(playbook_activations.c.id))).scalar()
        if generation == self._generation:
            return
        by_ws: dict[str, list[Playbook]] = defaultdict(list)
        for version in all_in_force(conn, self.clock()):
            by_ws[version.workspace_id].append(
                parse(version.source, self.registry, self.retention_ms)
            )
        self._workspaces = {
            ws: Workspace(
                {p.id: p for p in pbs}, evaluator_of(pbs), any(reads_graph(p) for p in pbs)
            )
            for ws, pbs in by_ws.items()
        }
        self._generation = generation

    def _events(self, conn: Connection, events: Sequence[Event]) -> None:
        relevant = [e for e in events if e.workspace_id in self._workspaces]
        if not relevant:
            return
        facts = profiles_of(conn, relevant)
        by_ws: dict[str, set[str]] = defaultdict(set)
        for event in relevant:
            if (profile := facts.get(event.seq or -1)) is not None:
                by_ws[event.workspace_id].add(profile.id)
        for workspace_id, ids in by_ws.items():
            self._load(conn, workspace_id, self._workspaces[workspace_id], ids)
        graphs: dict[str, dict[str, Any]] = {}
        for event in relevant:
            profile = facts.get(event.seq or -1)
            if profile is None:
                continue  # not stitched to a profile (e.g. refused by identity)
            ws = self._workspaces[event.workspace_id]
            graph = self._graph(conn, event.workspace_id, ws, profile.id, graphs)
            act = activation(event, profile, graph)
            view = EventView(event.message_id, event.name, event.type, ts_ms(event))
            for firing in ws.evaluator.observe(profile.id, view, act):
                self._fire(conn, event.workspace_id, ws, firing, act)

    def _graph(
        self,
        conn: Connection,
        workspace_id: str,
        ws: Workspace,
        profile_id: str,
        cache: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """Graph facts of the profile, only for workspaces whose conditions read them."""
        if not ws.needs_graph:
            return {}
        found = cache.get(profile_id)
        if found is None:
            found = cache[profile_id] = graph_facts(conn, workspace_id, profile_id, self.clock())
        return found

    def _fire(
        self, conn: Connection, workspace_id: str, ws: Workspace, firing: Firing, act: Any
    ) -> None:
        playbook = ws.playbooks[firing.trigger]
        consent = None
        if self.consent is not None:
            check = self.consent
            consent = lambda purpose: check(conn, workspace_id, firing.profile_id, purpose)  # noqa: E731
        verdict = judge(playbook, firing, act, self.registry, consent)
        firing_id = record(conn, workspace_id, playbook, firing, verdict, self.clock())
        if firing_id is not None and verdict.status == "pending":
            self._fired.append(firing_id)

    def _due(self, conn: Connection, now_ms: int) -> None:
        t = playbook_timers.c
        rows = conn.execute(select(playbook_timers).where(t.due_ms <= now_ms).limit(500)).all()
        for row in rows:
            ws = self._workspaces.get(row.workspace_id)
            if ws is not None:
                self._load(conn, row.workspace_id, ws, [row.profile_id])
                firing = ws.evaluator.fire_timer(row.playbook_id, row.profile_id, now_ms)
                if firing is not None:
                    found = facts_of(conn, [row.profile_id])
                    facts = found.get(row.profile_id, ProfileFacts(row.profile_id))
                    graph = self._graph(conn, row.workspace_id, ws, row.profile_id, {})
                    self._fire(conn, row.workspace_id, ws, firing, activation(None, facts, graph))
            conn.execute(
                delete(playbook_timers).where(
                    t.workspace_id == row.workspace_id,
                    t.playbook_id == row.playbook_id,
                    t.profile_id == row.profile_id,
                )
            )

    def _load(
        self, conn: Connection, workspace_id: str, ws: Workspace, profile_ids: Iterable[str]
    ) -> None:
        """Read the stored state of the profiles not in memory yet, a chunk per query."""
        wanted = sorted(set(profile_ids) - ws.loaded)
        s = trigger_state.c
        states = ws.evaluator.states
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            # Led by the primary key (workspace, playbook, profile): index seeks, no scan.
            stmt = select(s.playbook_id, s.profile_id, s.version, s.state).where(
                s.workspace_id == workspace_id,
                s.playbook_id.in_(list(ws.playbooks)),
                s.profile_id.in_(chunk),
            )
            for row in conn.execute(stmt):
                if ws.playbooks[row.playbook_id].hash == row.version:
                    states[(row.playbook_id, row.profile_id)] = orjson.loads(row.state)
            ws.loaded.update(chunk)

    def _flush(self, conn: Connection) -> None:
        now = self.clock()
        keys = ("workspace_id", "playbook_id", "profile_id")
        for workspace_id, ws in self._workspaces.items():
            ev = ws.evaluator
            rows = [
                {
                    "workspace_id": workspace_id,
                    "playbook_id": key,
                    "profile_id": profile_id,
                    "version": ws.playbooks[key].hash,
                    "state": orjson.dumps(ev.states[(key, profile_id)]).decode(),
                    "updated_ms": now,
                }
                for key, profile_id in ev.dirty
            ]
            if rows:
                conn.execute(upsert_replace(conn.engine, trigger_state, keys), rows)
            self._flush_timers(conn, workspace_id, ev.timers)
            ev.dirty.clear()
            ev.timers.clear()

    def _flush_timers(
        self, conn: Connection, workspace_id: str, timers: dict[tuple[str, str], int | None]
    ) -> None:
        t = playbook_timers.c
        gone = [{"p": key, "f": profile} for (key, profile), due in timers.items() if due is None]
        if gone:
            conn.execute(
                delete(playbook_timers).where(
                    t.workspace_id == workspace_id,
                    t.playbook_id == bindparam("p"),
                    t.profile_id == bindparam("f"),
                ),
                gone,
            )
        due_rows = [
            {"workspace_id": workspace_id, "playbook_id": key, "profile_id": profile, "due_ms": due}
            for (key, profile), due in timers.items()
            if due is not None
        ]
        if due_rows:
            keys = ("workspace_id", "playbook_id", "profile_id")
            conn.execute(upsert_replace(conn.engine, playbook_timers, keys), due_rows)
