"""What the durability campaign checks after each restart, read through the store's public
functions (offsets, failures, identity's profile look-up) and plain SQL counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select

from crmos.bench.durability_load import Ledger
from crmos.connectors.sim import audit_simulators
from crmos.core.settings import StoreSettings
from crmos.identity import count_live_profiles, profile_of, profile_view, recent_live_profiles
from crmos.sagas.journal import all_runs
from crmos.store import create_store_engine, failures, get_offset, integrity_errors
from crmos.store.tables import events

#: The event-log consumers ``crmos serve`` runs (bootstrap.build), in flow order.
CONSUMERS = ("identity", "graph", "triggers", "agent", "compliance")
ENDED = {"completed", "compensated", "needs_attention", "cancelled"}
IN_STEPS = {"running", "waiting", "compensating"}  # an engine is executing the run
ROLLED_BACK = {"compensated", "cancelled"}


@dataclass(slots=True)
class Check:
    """The figures of one check; every field but ``acked`` and the profile counts should be 0."""

    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    skipped_events: int = 0
    stream_failures: int = 0
    integrity_errors: int = 0
    profiles_expected: int = 0
    profiles_found: int = 0
    profiles_unexplained: int = 0  # live profiles that no stored identify call resolves to
    unanswered_batches: int = 0  # batches the resend after the restart gave up on
    erasure_leftovers: int = 0
    duplicate_side_effects: int = 0
    uncompensated_side_effects: int = 0
    runs_open: int = 0
    consumers_behind: int = 0  # consumers still short of the log head when the check gave up


@contextmanager
def looking(url: str) -> Iterator[Engine]:
    """A store engine for one look, closed after it. The campaign holds no connection between
    looks: an open SQLite connection keeps a shared lock that would stop a CLI command's exit
    from doing what it does beside a lone server (checkpoint and remove the WAL)."""
    engine = create_store_engine(StoreSettings(url=url))
    try:
        yield engine
    finally:
        engine.dispose()


def log_head(engine: Engine) -> int:
    """The highest sequence number in the event log."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(events.c.seq))).scalar_one() or 0)


def lagging(engine: Engine, head: int) -> list[str]:
    """The consumers whose offset is short of ``head``."""
    with engine.connect() as conn:
        return [name for name in CONSUMERS if get_offset(conn, name) < head]


def catch_up(engine: Engine, deadline_s: float) -> tuple[float, list[str]]:
    """Wait until every consumer reached the log head: seconds it took, and who did not."""
    began = time.monotonic()
    while True:
        behind = lagging(engine, log_head(engine))
        if not behind or time.monotonic() - began > deadline_s:
            return time.monotonic() - began, behind
        time.sleep(0.05)  # polling the store: the server process does the work


def settle_runs(engine: Engine, run_ids: list[str], deadline_s: float) -> dict[str, str]:
    """Wait until the runs ended (they resume after a restart); their statuses."""
    deadline = time.monotonic() + deadline_s
    while True:
        statuses = all_runs(engine, run_ids) if run_ids else {}
        if all(s in ENDED for s in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)  # polling the store: the server's engine runs them


def check(engine: Engine, workspace_id: str, ledger: Ledger, sims: list[str]) -> Check:
    """Compare the store and the simulators with what the server acknowledged."""
    with ledger.lock:
        acked = dict(ledger.acked)
        identified = dict(ledger.identified)
        erased = dict(ledger.erased)
        run_ids = list(ledger.runs)
        unanswered = len(ledger.unanswered)
    out = Check(acked=len(acked), unanswered_batches=unanswered)
    with engine.connect() as conn:
        counts = conn.execute(
            select(events.c.message_id, func.count())
            .where(events.c.workspace_id == workspace_id)
            .group_by(events.c.message_id)
        ).tuples()
        stored = {str(m): int(n) for m, n in counts}
        # An erase-user's events may be gone by design; everyone else's must be there once.
        keep = {m for m, user in acked.items() if not user.startswith("erase-")}
        out.lost = sum(1 for m in keep if m not in stored)
        out.duplicated = sum(1 for n in stored.values() if n > 1)
        roots = {u: profile_of(conn, workspace_id, "user_id", u) for u in identified}
        people = {u for u in roots if not u.startswith("erase-")}
        out.profiles_expected = len(people)
        # Stored but never stitched: a consumer passed over it (a lost one counts as lost).
        out.skipped_events = sum(roots[u] is None and identified[u] in stored for u in people)
        out.stream_failures = len(failures(conn))
        out.skipped_events += out.stream_failures
        live = count_live_profiles(conn, workspace_id)
        survivors = {roots[u] for u in roots if u.startswith("erase-") and roots[u] is not None}
        out.profiles_found = int(live) - len(survivors)
        out.profiles_unexplained = int(live) - len(_stitched(conn, workspace_id) | survivors)
        out.erasure_leftovers = sum(
            1 for u, status in erased.items() if status != "blocked" and roots.get(u) is not None
        )
        out.integrity_errors = integrity_errors(conn)
    statuses = all_runs(engine, run_ids) if run_ids else {}
    out.runs_open = sum(1 for s in statuses.values() if s not in ENDED)
    rolled_back = [r for r, s in statuses.items() if s in ROLLED_BACK or s == "needs_attention"]
    audit = audit_simulators(sims, rolled_back)
    out.duplicate_side_effects = audit.duplicate_side_effects
    out.uncompensated_side_effects = audit.uncompensated_side_effects
    return out


def _stitched(conn: Connection, workspace_id: str) -> set[str]:
    """The live profiles that the stored identify calls resolve to (acknowledged or not)."""
    users = conn.execute(
        select(events.c.user_id)
        .where(events.c.workspace_id == workspace_id, events.c.type == "identify")
        .distinct()
    ).scalars()
    roots = {profile_of(conn, workspace_id, "user_id", str(u)) for u in users if u}
    return {r for r in roots if r is not None}


def unexplained(engine: Engine, workspace_id: str) -> list[str]:
    """Each live profile no stored identify call resolves to, described for the log: its id,
    creation time, identifiers (type=value) and trait names (the people are synthetic)."""
    with engine.connect() as conn:
        live = recent_live_profiles(conn, workspace_id, count_live_profiles(conn, workspace_id))
        known = _stitched(conn, workspace_id)
        out = []
        for profile_id in (p for p in live if p not in known):
            view = profile_view(conn, workspace_id, profile_id)
            named = ", ".join(f"{i['type']}={i['value']}" for i in view["identifiers"])
            traits = ", ".join(sorted(view["traits"])) or "no traits"
            line = f"{profile_id} created_ms={view['created_ms']}: {named or 'no identifiers'}"
            out.append(f"{line}; traits: {traits}")
    return out
