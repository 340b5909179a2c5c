"""The real-time stitcher: the event-stream consumer that keeps profiles up to date.

Per ``handle`` call it plans every event in memory (see ``stitch``) and writes the plan in a
few multi-row statements, in the stream's transaction. Its cache is dropped whenever it cannot
be sure the cache matches the store: another writer moved the workspace epoch, or the stream's
transaction did not commit (``rolled_back``: the stream's one replay rule). Each batch moves
the epoch on too, so a second stitcher (another process) never trusts a cache this one made
stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from crmos.core.event import Event
from crmos.core.settings import IdentitySettings
from crmos.identity import repo
from crmos.identity.changes import record_merges
from crmos.identity.claims import NormCache, claim_of
from crmos.identity.merges import merge_decision
from crmos.identity.policy import build_policy
from crmos.identity.reviews import repair_conflicts
from crmos.identity.search_index import mark_pending
from crmos.identity.state import WorkspaceState
from crmos.identity.stitch import Plan
from crmos.ingest import Consumer
from crmos.store import erased_seqs, record_decision
from crmos.store.dialect import insert_ignore
from crmos.store.tables_identity import (
    identity_conflicts,
    identity_merges,
    identity_rejections,
    identity_workspaces,
    profile_events,
    profile_identifiers,
    profiles,
)

_p = profiles.c
SEEN_SLACK_MS = 600_000
"""How long a profile's search row may show an older last-seen time (see ``_touched``)."""
# Driver-level, as bulk inserts are: SQLAlchemy's per-row parameter processing would cost more
# than the statement itself.
_SET_TRAITS = f"UPDATE {profiles.name} SET traits = {{0}}, updated_ms = {{0}} WHERE id = {{0}}"
_REROOT = update(profiles).where(_p.root_id == bindparam("other")).values(root_id=bindparam("to"))
_LINK = (
    update(profiles)
    .where(_p.id == bindparam("other"))
    .values(merged_into=bindparam("to"), merge_id=bindparam("mid"), updated_ms=bindparam("now"))
)


class Stitcher(Consumer):
    """Consumer ``identity``: stitches identify, alias, track, page, screen and group events."""

    name = "identity"

    def __init__(self, settings: IdentitySettings) -> None:
        self._settings = settings
        self._states: dict[str, WorkspaceState] = {}
        self._norm_caches: dict[str, NormCache] = {}

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Stitch ``events`` (log order) in the caller's transaction."""
        # Workspaces in a fixed order: each locks its row to the commit, and two stitchers
        # (workers of other partitions) must never wait for each other's rows crosswise.
        for workspace_id, group in sorted(_by_workspace(events).items()):
            self._handle(conn, workspace_id, group)

    def rolled_back(self) -> None:
        """The transaction did not commit: the cached identities may hold what it wrote."""
        self._states.clear()

    def forget(self) -> None:
        """Drop every cached identity (tests and benchmarks use it to start cold)."""
        self._states.clear()

    def _handle(self, conn: Connection, workspace_id: str, events: list[Event]) -> None:
        state, moved = self._state(conn, workspace_id)
        if moved:
            # Another writer (an erasure, another stitcher) committed since our cache. The stream
            # read this batch in an earlier transaction, and an erasure may have deleted some of
            # it since: a deleted event must not bring its person back. An erasure takes the
            # lock we now hold, so none can delete more of the batch before we commit.
            gone = erased_seqs(conn, [e.seq for e in events if e.seq is not None])
            events = [e for e in events if e.seq not in gone]
        claims = [claim_of(e, state.norm) for e in events]
        state.prefetch(conn, claims)
        plan = Plan(state, repo.now_ms())
        for claim in claims:
            if claim.keys or claim.rejections:
                plan.add(claim)
        flush(conn, plan)
        repo.lock_workspace(conn, workspace_id)  # moves the epoch of the row _read locked
        state.epoch += 1

    def _state(self, conn: Connection, workspace_id: str) -> tuple[WorkspaceState, bool]:
        """The workspace's state, its row locked, and whether it had to be (re)built."""
        epoch, override = _read(conn, workspace_id)
        state = self._states.get(workspace_id)
        stale = state is None or state.epoch != epoch
        if stale or state is None:
            policy = build_policy(self._settings, override)
            cache = self._norm_caches.setdefault(policy.region, {})
            size = self._settings.cache_identifiers
            state = WorkspaceState(workspace_id, policy, epoch, cache, size)
            state.start_complete(conn)
            self._states[workspace_id] = state
        state.trim(self._settings.cache_identifiers)
        return state, stale


def _by_workspace(events: Sequence[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.workspace_id, []).append(event)
    return groups


def _read(conn: Connection, workspace_id: str) -> tuple[int, dict[str, Any]]:
    """The workspace's epoch and override, its row locked (PostgreSQL) against other writers."""
    t = identity_workspaces.c
    stmt = select(t.epoch, t.config).where(t.workspace_id == workspace_id).with_for_update()
    row = conn.execute(stmt).one_or_none()
    if row is None:
        values = {"workspace_id": workspace_id, "config": "{}", "epoch": 0}
        conn.execute(insert_ignore(conn.engine, identity_workspaces), values | {"updated_ms": 0})
        row = conn.execute(stmt).one()
    return int(row.epoch), dict(repo.loads(row.config) or {})


def flush(conn: Connection, plan: Plan) -> None:
    """Write a plan: profiles, identifiers, merges, traits, events, conflicts, rejections."""
    st = plan.state
    if plan.created:
        repo.bulk_insert(conn, profiles, [_created_row(plan, pid) for pid in plan.created])
    if plan.identifiers:
        repo.bulk_insert(conn, profile_identifiers, plan.identifiers)
    _write_merges(conn, plan)
    dirty = [r for r in plan.dirty if r not in plan.created and st.find(r) == r]
    if dirty:
        now, live, dumps = plan.now_ms, st.live, repo.dumps
        rows = [(dumps(live[r].traits), now, r) for r in dirty]
        conn.exec_driver_sql(_SET_TRAITS.format(repo.mark(conn)), rows)
    if plan.events:
        ignore = insert_ignore(conn.engine, profile_events)
        repo.bulk_insert(conn, profile_events, plan.events, ignore)
    if plan.rejections:
        conn.execute(identity_rejections.insert(), plan.rejections)
    if plan.conflicts:
        _write_conflicts(conn, plan)
    mark_pending(conn, st.workspace_id, _touched(plan))


def _touched(plan: Plan) -> set[str]:
    """The profiles whose search entries the plan makes stale (see ``search_index``).

    New profiles, identifiers, traits and merges always count. A profile that only had
    events counts once per ``SEEN_SLACK_MS`` and touchpoint per stitcher: its search row's
    last-seen time may lag that much, and a busy person is not re-marked for every batch.
    """
    out = set(plan.created) | plan.dirty
    out.update(row["profile_id"] for row in plan.identifiers)
    out.update(m["other_id"] for m in plan.merges)
    marked, now = plan.state.search_marked, plan.now_ms
    for row in plan.events:
        seen = (row["profile_id"], row["source"])
        if seen[0] not in out and now - marked.get(seen, 0) >= SEEN_SLACK_MS:
            out.add(seen[0])
            marked[seen] = now
    return out


def _created_row(plan: Plan, pid: str) -> dict[str, Any]:
    parent, merge_id = plan.absorbed.get(pid, (None, None))
    return {
        "id": pid,
        "workspace_id": plan.state.workspace_id,
        "root_id": plan.state.find(pid),
        "merged_into": parent,
        "merge_id": merge_id,
        "traits": repo.dumps(plan.created[pid].traits),
        "marketing_suppressed": False,
        "created_ms": plan.now_ms,
        "updated_ms": plan.now_ms,
    }


def _write_merges(conn: Connection, plan: Plan) -> None:
    if not plan.merges:
        return
    for merge in plan.merges:  # in order: a later merge may absorb an earlier survivor
        if merge["other_id"] not in plan.created:
            params = {"other": merge["other_id"], "to": merge["survivor_id"]}
            conn.execute(_REROOT, params)
            conn.execute(_LINK, params | {"mid": merge["id"], "now": plan.now_ms})
    rows = [m | {"evidence": repo.dumps(m["evidence"])} for m in plan.merges]
    conn.execute(identity_merges.insert(), rows)
    record_merges(
        conn,
        ((m["workspace_id"], m["id"], m["survivor_id"], m["other_id"], m["created_ms"])
         for m in plan.merges),
    )  # fmt: skip
    version = plan.state.policy.version
    for m in plan.merges:
        event_ids = (m["evidence"]["event"]["message_id"],)
        decision = merge_decision(
            m["workspace_id"], m["id"], m["survivor_id"], m["other_id"], m["reason"],
            m["evidence"], version, event_ids,
        )  # fmt: skip
        record_decision(conn, decision)


def _write_conflicts(conn: Connection, plan: Plan) -> None:
    i = profile_identifiers.c
    keys = sorted({(c["identifier_type"], c["identifier_value"]) for c in plan.conflicts})
    sources: dict[tuple[str, str], str] = {}
    for kind, value in keys:
        found = conn.execute(
            select(i.source).where(
                i.workspace_id == plan.state.workspace_id, i.type == kind, i.value == value
            )
        ).scalar_one_or_none()
        if found is not None:
            sources[(kind, value)] = found
    rows = [
        c
        | {"owner_source": sources.get((c["identifier_type"], c["identifier_value"]))}
        | {"evidence": repo.dumps(c["evidence"])}
        for c in plan.conflicts
    ]
    conn.execute(identity_conflicts.insert(), rows)
    repair_conflicts(conn, plan.state.workspace_id, plan.state.policy, keys)
