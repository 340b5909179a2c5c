"""The trigger consumer: feeds the event stream through the playbooks in force, per profile.

Runs in the stream's transaction after identity and graph: the trigger state it changes, the
timers it sets, the firings and Decisions it writes and its cursor commit together, so a crash
never loses or repeats a firing. It keeps its own cursor (``triggers.cursor``) and never reads
past what identity has stitched: the stream may hand it events that identity has not reached
yet (appended after identity's pass), and those wait for the next pass or timer tick.
Window state is cached in memory and written through to
``trigger_state``; after a failed batch the cache is dropped and reloaded from the store.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select

from crmos.core.event import Event
from crmos.ingest import EventReader
from crmos.playbooks.components import ComponentRegistry
from crmos.playbooks.firing import ConsentCheck, judge, record
from crmos.playbooks.profiles import ProfileFacts, activation, facts_of, profiles_of, ts_ms
from crmos.playbooks.spec import Playbook, parse
from crmos.playbooks.versions import all_in_force
from crmos.store import EventLog, get_offset, set_offset
from crmos.store.tables_playbooks import (
    playbook_activations,
    playbook_timers,
    trigger_state,
    upsert_replace,
)
from crmos.triggers import Evaluator, EventView, Firing, Trigger

CURSOR = "triggers.cursor"
PAGE = 500


@dataclass(slots=True)
class Workspace:
    """The playbooks in force in one workspace, and their evaluator."""

    playbooks: dict[str, Playbook]
    evaluator: Evaluator
    loaded: set[str] = field(default_factory=set)  # profiles whose state was read


def evaluator_of(playbooks: Sequence[Playbook]) -> Evaluator:
    """An evaluator over the triggers of ``playbooks``."""
    return Evaluator(Trigger(p.id, p.hash, p.pattern, p.trigger_condition) for p in playbooks)


class TriggerConsumer:
    """The ``triggers`` stream consumer."""

    name = "triggers"

    def __init__(
        self,
        registry: ComponentRegistry,
        retention_ms: int,
        clock: Callable[[], int],
        source: tuple[EventLog, EventReader],
        consent: ConsentCheck | None = None,
        upstream: str = "identity",
        on_fired: Callable[[], None] | None = None,
    ) -> None:
        self.registry = registry
        self.on_fired = on_fired
        self.log, self.reader = source
        self.upstream = upstream
        self.retention_ms = retention_ms
        self.clock = clock
        self.consent = consent
        self._workspaces: dict[str, Workspace] = {}
        self._generation: int | None = None
        self._cursor: int | None = None  # where our last transaction left the cursor
        self._fired = False
        self._lock = threading.Lock()

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Evaluate ``events``; fire due timers first."""
        with self._lock:
            self._check(conn)
            self._fired = False
            try:
                self._refresh(conn)
                self._due(conn, self.clock())
                self._catch_up(conn, max((e.seq or 0 for e in events), default=0))
                self._flush(conn)
            except BaseException:
                self.invalidate()  # memory may be ahead of the rolled-back store
                raise
            if self._fired and self.on_fired is not None:
                self.on_fired()

    def invalidate(self) -> None:
        """Forget the cached state; it is read again from the store."""
        self._workspaces.clear()
        self._generation = None
        self._cursor = None

    def _check(self, conn: Connection) -> None:
        # If our last transaction did not commit, the stored cursor is not where we left it.
        if self._cursor is not None and get_offset(conn, CURSOR) != self._cursor:
            self.invalidate()

    def tick(self, conn: Connection) -> int:
        """Fire the absence timers that are due now; returns how many fired."""
        with self._lock:
            self._check(conn)
            try:
                self._refresh(conn)
                fired = self._due(conn, self.clock())
                self._catch_up(conn, None)
                self._flush(conn)
                return fired
            except BaseException:
                self.invalidate()
                raise

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
            ws: Workspace({p.id: p for p in pbs}, evaluator_of(pbs)) for ws, pbs in by_ws.items()
        }
        self._generation = generation

    def _catch_up(self, conn: Connection, upto: int | None) -> None:
        """Evaluate the next page of the log after the cursor, up to what identity has stitched
        (and ``upto``); the stream's next batch or the next timer tick takes the rest."""
        cursor = get_offset(conn, CURSOR)
        bound = get_offset(conn, self.upstream)
        if upto is not None and upto > cursor:
            bound = min(bound, upto)  # keep in step with the stream's batches
        # One page per transaction: a long write transaction would stall intake on SQLite.
        rows = [r for r in self.log.read_after(conn, cursor, PAGE) if r.seq <= bound]
        if rows:
            self._events(conn, self.reader.to_events(conn, rows))
            cursor = max(int(r.seq) for r in rows)
            set_offset(conn, CURSOR, cursor)
        self._cursor = cursor

    def _events(self, conn: Connection, events: Sequence[Event]) -> None:
        relevant = [e for e in events if e.workspace_id in self._workspaces]
        if not relevant:
            return
        facts = profiles_of(conn, relevant)
        for event in relevant:
            profile = facts.get(event.seq or -1)
            if profile is None:
                continue  # not stitched to a profile (e.g. refused by identity)
            ws = self._workspaces[event.workspace_id]
            self._load(conn, event.workspace_id, ws, profile.id)
            act = activation(event, profile)
            view = EventView(event.message_id, event.name, event.type, ts_ms(event))
            for firing in ws.evaluator.observe(profile.id, view, act):
                self._fire(conn, event.workspace_id, ws, firing, act)

    def _fire(
        self, conn: Connection, workspace_id: str, ws: Workspace, firing: Firing, act: Any
    ) -> None:
        playbook = ws.playbooks[firing.trigger]
        consent = None
        if self.consent is not None:
            check = self.consent
            consent = lambda purpose: check(conn, workspace_id, firing.profile_id, purpose)  # noqa: E731
        verdict = judge(playbook, firing, act, self.registry, consent)
        if record(conn, workspace_id, playbook, firing, verdict, self.clock()):
            self._fired = True

    def _due(self, conn: Connection, now_ms: int) -> int:
        t = playbook_timers.c
        rows = conn.execute(select(playbook_timers).where(t.due_ms <= now_ms).limit(500)).all()
        fired = 0
        for row in rows:
            ws = self._workspaces.get(row.workspace_id)
            if ws is not None:
                self._load(conn, row.workspace_id, ws, row.profile_id)
                firing = ws.evaluator.fire_timer(row.playbook_id, row.profile_id, now_ms)
                if firing is not None:
                    found = facts_of(conn, [row.profile_id])
                    facts = found.get(row.profile_id, ProfileFacts(row.profile_id))
                    self._fire(conn, row.workspace_id, ws, firing, activation(None, facts))
                    fired += 1
            conn.execute(
                delete(playbook_timers).where(
                    t.workspace_id == row.workspace_id,
                    t.playbook_id == row.playbook_id,
                    t.profile_id == row.profile_id,
                )
            )
        return fired

    def _load(self, conn: Connection, workspace_id: str, ws: Workspace, profile_id: str) -> None:
        if profile_id in ws.loaded:
            return
        s = trigger_state.c
        stmt = select(s.playbook_id, s.version, s.state).where(
            s.workspace_id == workspace_id, s.profile_id == profile_id
        )
        for row in conn.execute(stmt):
            playbook = ws.playbooks.get(row.playbook_id)
            if playbook is not None and playbook.hash == row.version:
                ws.evaluator.states[(row.playbook_id, profile_id)] = orjson.loads(row.state)
        ws.loaded.add(profile_id)

    def _flush(self, conn: Connection) -> None:
        now = self.clock()
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
                keys = ("workspace_id", "playbook_id", "profile_id")
                conn.execute(upsert_replace(conn.engine, trigger_state, keys), rows)
            self._flush_timers(conn, workspace_id, ev.timers)
            ev.dirty.clear()
            ev.timers.clear()

    def _flush_timers(
        self, conn: Connection, workspace_id: str, timers: dict[tuple[str, str], int | None]
    ) -> None:
        t = playbook_timers.c
        keys = ("workspace_id", "playbook_id", "profile_id")
        for (key, profile_id), due in timers.items():
            if due is None:
                conn.execute(
                    delete(playbook_timers).where(
                        t.workspace_id == workspace_id,
                        t.playbook_id == key,
                        t.profile_id == profile_id,
                    )
                )
            else:
                row = {"workspace_id": workspace_id, "playbook_id": key, "profile_id": profile_id}
                conn.execute(
                    upsert_replace(conn.engine, playbook_timers, keys), {**row, "due_ms": due}
                )
