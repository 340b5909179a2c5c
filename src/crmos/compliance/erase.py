"""Erasing a subject from the local stores: every registered room's eraser, then the sweep.

Each room declares what it holds about a person in a data map and registers one eraser
(:mod:`crmos.core.datamap`); the composition root hands the registrations here. The engine:

1. destroys the subject's data keys (crypto-shredding: every encrypted copy of their events,
   in backups and exported files too, becomes unreadable);
2. calls every registered eraser in one transaction, each inside a savepoint so one room's
   failure is reported, named, without undoing the others; a room whose map names personal
   data but that registers no eraser is reported ``failed`` (the erasure ends ``incomplete``);
3. pseudonymises whatever is left anywhere (a name in another room's JSON) with the sweep;
4. on SQLite, moves the write-ahead log into the overwritten database file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from crmos.compliance.model import Outcome, OutcomeStatus
from crmos.compliance.scan import sweep_tables
from crmos.compliance.subjects import Subject
from crmos.core.datamap import Person, Room
from crmos.core.errors import CrmosError
from crmos.store import Vault, begin_write, flush_deleted, secure_delete

NO_ERASER = "holds personal data (see its data map) but registers no eraser"


@contextmanager
def _timed(outcomes: list[Outcome]) -> Iterator[list[Outcome]]:
    """Collect outcomes, stamping those without a time with the block's duration."""
    started = time.perf_counter()
    found: list[Outcome] = []
    yield found
    elapsed = (time.perf_counter() - started) * 1000
    for item in found:
        outcomes.append(item if item.elapsed_ms else _with_time(item, elapsed))


def person_of(subject: Subject) -> Person:
    """What an eraser needs to know about ``subject``."""
    return Person(
        workspace_id=subject.workspace_id,
        profile_ids=subject.profile_ids or (subject.profile_id,),
        identifiers=subject.identifiers,
        user_ids=subject.user_ids,
        anonymous_ids=subject.anonymous_ids,
        seqs=subject.seqs,
        needles=subject.needles,
    )


def erase_local(
    engine: Engine, vault: Vault, subject: Subject, rooms: Sequence[Room]
) -> list[Outcome]:
    """Erase ``subject`` from every local store; one outcome per place touched."""
    outcomes: list[Outcome] = []
    with _timed(outcomes) as found:
        shredded = sum(vault.destroy(subject.workspace_id, s) for s in subject.key_subjects)
        found.append(
            Outcome(
                "subject_keys",
                "store",
                "shredded",
                shredded,
                "data keys destroyed: every encrypted copy (backups, exported files) is unreadable",
            )
        )
    person = person_of(subject)
    with engine.begin() as conn:
        # The erasers read, then write, inside savepoints: take the write lock first.
        begin_write(conn)
        secure_delete(conn)
        for room in rooms:
            with _timed(outcomes) as found:
                found += erase_room(conn, room, person)
    with _timed(outcomes) as found, engine.begin() as conn:
        secure_delete(conn)
        found += sweep_tables(conn, subject.needles)
    flush_deleted(engine)
    return outcomes


def erase_room(conn: Connection, room: Room, person: Person) -> list[Outcome]:
    """Run one room's eraser in a savepoint; its outcomes, or one ``failed`` naming the room."""
    if room.eraser is None:
        if not room.data_map.personal:
            return []
        return [Outcome(room.name, "store", "failed", 0, NO_ERASER)]
    try:
        with conn.begin_nested():
            erased = room.eraser.erase(conn, person)
    except Exception as exc:  # one room's failure must not stop the others: report it, named
        # The class and code only: an exception's message may quote the person's data.
        why = exc.code if isinstance(exc, CrmosError) else type(exc).__name__
        return [Outcome(room.name, "store", "failed", 0, f"the eraser failed: {why}")]
    how = {h.name: h.erased_by for h in room.data_map.holdings}
    outcomes = [
        Outcome(place, "store", _status(how.get(place), count), count)
        for place, count in erased.counts.items()
    ]
    outcomes += [Outcome(room.name, "store", "failed", 0, why) for why in erased.unfinished]
    return outcomes


def _status(erased_by: str | None, count: int) -> OutcomeStatus:
    if not count:
        return "not_present"
    return "pseudonymised" if erased_by == "pseudonymise" else "deleted"


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
