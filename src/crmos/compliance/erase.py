"""Erasing a subject from the local stores: identity, other rooms, the event log, the leftovers.

- Identity: the profile tree, its identifiers, trait statements, merges, conflicts and review
  tickets, through identity's public ``erase_profile``.
- Other rooms (graph, agent knowledge and interactions, triggers, sagas ...): every room whose
  public face offers ``erase_subject(conn, workspace_id, profile_ids, identifiers) -> int``, and
  every plugin of the ``crmos.erasers`` entry-point group with the same signature.
- The event log: the subject's data keys are destroyed (crypto-shredding: every copy of the
  encrypted fields, in backups and exported files too, becomes unreadable), then its rows are
  deleted, overwriting them on SQLite.
- What is left anywhere (a name in a decision's inputs, an e-mail in another room's JSON) is
  pseudonymised by the sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import entry_points
from types import ModuleType

from sqlalchemy import Connection, Engine, Table, delete
from sqlalchemy.sql.elements import ColumnElement

from crmos import agent, connectors, graph, identity, playbooks, sagas, triggers
from crmos.compliance.model import Outcome
from crmos.compliance.scan import sweep_tables
from crmos.compliance.subjects import Subject, events_of
from crmos.store import Vault, flush_deleted, secure_delete
from crmos.store.tables import events, metadata
from crmos.store.tables_compliance import profile_regions

ERASERS_GROUP = "crmos.erasers"
# Tables keyed by profile that erasure keeps (pseudonymous proof) or handles on its own.
RETAINED = frozenset(
    {
        "complaints",
        "consents",
        "dsr_requests",
        "legal_holds",
        "profile_regions",
        "profile_identifiers",
        "profile_events",
    }
)
RoomEraser = Callable[[Connection, str, Sequence[str], Sequence[tuple[str, str]]], int]
_ROOMS: tuple[ModuleType, ...] = (graph, triggers, playbooks, sagas, connectors, agent)


@contextmanager
def _timed(outcomes: list[Outcome]) -> Iterator[list[Outcome]]:
    """Collect outcomes, stamping those without a time with the block's duration."""
    started = time.perf_counter()
    found: list[Outcome] = []
    yield found
    elapsed = (time.perf_counter() - started) * 1000
    for item in found:
        outcomes.append(item if item.elapsed_ms else _with_time(item, elapsed))


def erase_local(engine: Engine, vault: Vault, subject: Subject) -> list[Outcome]:
    """Erase ``subject`` from every local store; one outcome per store touched."""
    outcomes: list[Outcome] = []
    with _timed(outcomes) as found, engine.begin() as conn:
        secure_delete(conn)
        found += erase_identity(conn, subject)
        found += erase_rooms(conn, subject)
        found += erase_keyed_rows(conn, subject)
        conn.execute(
            delete(profile_regions).where(
                profile_regions.c.workspace_id == subject.workspace_id,
                profile_regions.c.profile_id.in_(subject.profile_ids or (subject.profile_id,)),
            )
        )
    with _timed(outcomes) as found:
        found += erase_event_log(engine, vault, subject)
    with _timed(outcomes) as found, engine.begin() as conn:
        secure_delete(conn)
        found += sweep_tables(conn, subject.needles)
    flush_deleted(engine)
    return outcomes


def erase_event_log(engine: Engine, vault: Vault, subject: Subject) -> list[Outcome]:
    """Destroy the subject's data keys, then delete its events from the hot log."""
    shredded = sum(vault.destroy(subject.workspace_id, s) for s in subject.key_subjects)
    with engine.begin() as conn:
        secure_delete(conn)
        deleted = conn.execute(delete(events).where(events_of(subject))).rowcount or 0
    return [
        Outcome(
            "subject_keys",
            "store",
            "shredded",
            shredded,
            "data keys destroyed: every encrypted copy (backups, exported files) is unreadable",
        ),
        Outcome("events", "store", "deleted", deleted, "the person's events left the hot log"),
    ]


def erase_identity(conn: Connection, subject: Subject) -> list[Outcome]:
    """Remove the profile tree and everything identity holds about it."""
    tree = list(subject.profile_ids)
    if not tree:
        return [Outcome("identity", "store", "not_present", 0, "identity never saw the person")]
    counts = identity.erase_profile(conn, subject.workspace_id, tree, subject.seqs[:30_000])
    return [
        Outcome(name, "store", "deleted" if n else "not_present", n) for name, n in counts.items()
    ]


def erase_rooms(conn: Connection, subject: Subject) -> list[Outcome]:
    """Ask every room and plugin that offers an eraser to erase the subject."""
    erasers: dict[str, RoomEraser] = {}
    for room in _ROOMS:
        offered = getattr(room, "erase_subject", None)
        if callable(offered):
            erasers[room.__name__.rpartition(".")[2]] = offered
    for ep in entry_points(group=ERASERS_GROUP):
        erasers[ep.name] = ep.load()
    ids = list(subject.profile_ids or (subject.profile_id,))
    outcomes = []
    for name, eraser in sorted(erasers.items()):
        count = eraser(conn, subject.workspace_id, ids, list(subject.identifiers))
        outcomes.append(Outcome(name, "store", "erased" if count else "not_present", count))
    return outcomes


def erase_keyed_rows(conn: Connection, subject: Subject) -> list[Outcome]:
    """Delete the rows of every other room's table keyed to the profile (``profile_id``):
    graph activity and scores, interactions, recommendations, trigger state, playbook timers.

    The compliance records that prove lawful handling (requests, holds, consent history,
    complaints) and decision records stay: they name only the pseudonymous profile id.
    """
    tree = list(subject.profile_ids or (subject.profile_id,))
    outcomes = []
    for table in metadata.sorted_tables:
        if table.name in RETAINED or "profile_id" not in table.c:
            continue
        where: ColumnElement[bool] = table.c.profile_id.in_(tree)
        if "workspace_id" in table.c:
            where = where & (table.c.workspace_id == subject.workspace_id)
        count = _delete(conn, table, where)
        outcomes.append(Outcome(table.name, "store", "deleted" if count else "not_present", count))
    return outcomes


def _delete(conn: Connection, table: Table, where: ColumnElement[bool]) -> int:
    return conn.execute(delete(table).where(where)).rowcount or 0


def _with_time(item: Outcome, elapsed: float) -> Outcome:
    return Outcome(
        item.target,
        item.kind,
        item.status,
        item.count,
        item.detail,
        item.confirmation,
        elapsed,
    )
