"""The store's part of an erasure: the event log, stream failures and decision records.

Also :func:`pseudonymise_rows`, the one way every room rewrites a person's strings in records
it keeps (decision inputs, saga results): the strings are replaced by stable aliases
(:func:`crmos.core.datamap.redact`), so the record still proves what was done, to whom
pseudonymously.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, and_, delete, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from crmos.core.datamap import DataMap, Erased, Holding, Person, redact
from crmos.store.tables import events, metadata, stream_failures
from crmos.store.tables_records import decisions
from crmos.store.tables_stream import stream_profiles

IN_CHUNK = 500

EVENT_LOG = DataMap(
    room="ingest",
    holdings=(
        Holding(
            "table",
            "events",
            ("user_id", "anonymous_id", "pii"),
            "user or anonymous id",
            "delete",
        ),
        Holding("table", "subject_keys", ("subject", "wrapped"), "user:/anon: subject", "shred"),
        Holding("table", "stream_failures", ("error",), "seq of the person's events"),
        Holding(
            "table",
            "stream_profiles",
            ("profile_id",),
            "profile_id in the tree, or the seq of the person's events",
            "delete",
        ),
    ),
    note="The personal fields of an event are encrypted with the person's data key; "
    "compliance destroys the key before the eraser deletes the rows.",
)

RECORDS = DataMap(
    room="records",
    holdings=(
        Holding(
            "table",
            "decisions",
            ("inputs", "reason", "actions"),
            "subject_profile_id in the tree, or the person's strings",
            "pseudonymise",
        ),
    ),
    note="Decision records and the audit chain stay: they name the pseudonymous profile id "
    "only (audit details never hold personal strings).",
)


class EventLogEraser:
    """Deletes the person's events, the stream failures recorded for them, and their events'
    places on the profile-partitioned stream (scale-out)."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Forget ``person`` in the event log (their data keys are already destroyed)."""
        seqs = list(person.seqs)
        clauses: list[ColumnElement[bool]] = []
        if person.user_ids:
            clauses.append(events.c.user_id.in_(person.user_ids))
        if person.anonymous_ids:
            clauses.append(events.c.anonymous_id.in_(person.anonymous_ids))
        deleted = 0
        if clauses:
            stmt = delete(events).where(events.c.workspace_id == person.workspace_id, or_(*clauses))
            deleted += conn.execute(stmt).rowcount or 0
        failed = 0
        for part in _chunks(seqs):
            deleted += (
                conn.execute(
                    delete(events).where(
                        events.c.workspace_id == person.workspace_id, events.c.seq.in_(part)
                    )
                ).rowcount
                or 0
            )
            failed += (
                conn.execute(
                    delete(stream_failures).where(
                        stream_failures.c.workspace_id == person.workspace_id,
                        stream_failures.c.seq.in_(part),
                    )
                ).rowcount
                or 0
            )
        sp = stream_profiles.c
        rekeyed = 0
        for part in _chunks(seqs):
            rekeyed += (
                conn.execute(delete(stream_profiles).where(sp.event_seq.in_(part))).rowcount or 0
            )
        for part in _chunks(list(person.profile_ids)):
            rekeyed += (
                conn.execute(delete(stream_profiles).where(sp.profile_id.in_(part))).rowcount or 0
            )
        return Erased({"events": deleted, "stream_failures": failed, "stream_profiles": rekeyed})


class RecordsEraser:
    """Pseudonymises the person's strings in the decision records kept about them."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Rewrite decisions of the profile tree, and any other decision quoting the person."""
        d = decisions.c
        mine = in_chunks(d.subject_profile_id, person.profile_ids)
        count = pseudonymise_rows(
            conn,
            decisions,
            d.workspace_id == person.workspace_id,
            ("inputs", "reason", "actions"),
            person.needles,
            also=mine,
        )
        return Erased({"decisions": count})


def pseudonymise_rows(
    conn: Connection,
    table: Table,
    scope: ColumnElement[bool],
    columns: Sequence[str],
    needles: Sequence[str],
    also: ColumnElement[bool] | None = None,
) -> int:
    """Replace ``needles`` in ``columns`` of the rows in ``scope`` that hold any of them.

    ``also`` widens the rows looked at (rows of the person's profile whose strings may be
    spelt otherwise); a row is only written when its text changes. Returns rows rewritten.
    """
    if not needles:
        return 0
    cols = [table.c[name] for name in columns]
    holds = or_(*(holds_any(c, needles) for c in cols))
    keys = list(table.primary_key.columns)
    rows = conn.execute(
        select(*keys, *cols).where(and_(scope, or_(holds, also) if also is not None else holds))
    ).all()
    changed = 0
    for row in rows:
        values: dict[str, Any] = {}
        for name in columns:
            old = getattr(row, name)
            if isinstance(old, str) and (new := redact(old, needles)) != old:
                values[name] = new
        if values:
            where = and_(*(k == getattr(row, k.name) for k in keys))
            conn.execute(update(table).where(where).values(values))
            changed += 1
    return changed


def declared_table(name: str) -> Table | None:
    """The table crmos declares under ``name`` (None for a table another engine keeps): a scan
    reads declared tables through their own column types."""
    return metadata.tables.get(name)


def spellings(needles: Iterable[str]) -> list[str]:
    """Each needle as written, in lower case, and JSON-escaped."""
    out: set[str] = set()
    for needle in needles:
        for form in (needle, needle.casefold()):
            out.update((form, json.dumps(form)[1:-1]))
    return sorted(out)


def holds_any(column: ColumnElement[Any], needles: Sequence[str]) -> ColumnElement[bool]:
    """``column`` holds any spelling of any needle (case-insensitive)."""
    return or_(*(column.icontains(f, autoescape=True) for f in spellings(needles)))


def in_chunks(column: Column[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for any number of values (bound-parameter limits)."""
    return or_(*(column.in_(part) for part in _chunks(values))) if values else column.in_([])


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]
