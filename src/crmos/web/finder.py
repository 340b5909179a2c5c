"""Finding people for the console's list and global search.

INTERIM adapter: identity publishes no list or search function yet (issue 16 item 1 is being
built beside this). Until it lands, this reads the identity tables through the store, scans at
most ``SCAN_LIMIT`` live profiles and matches ``q`` as a substring of name, e-mail, phone or
user id. The console calls only :func:`find_people`, so switching to identity's search is a
change to this module alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from crmos.store.tables_identity import profile_events, profile_identifiers, profiles

SCAN_LIMIT = 5000
SHOWN_TYPES = ("email", "phone", "user_id")


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list is narrowed to; every field lives in the page's URL."""

    q: str = ""
    touchpoint: str = ""
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    """One row of the people list."""

    profile_id: str
    name: str
    identifiers: dict[str, str]
    sources: list[str]
    suppressed: bool
    updated_ms: int


@dataclass(frozen=True, slots=True)
class Page:
    """A page of matches and the cursor of the next one."""

    rows: list[Person]
    next_after: str | None
    total: int
    touchpoints: list[str] = field(default_factory=list)


def find_people(
    conn: Connection, workspace_id: str, filters: Filters, *, after: str = "", limit: int = 25
) -> Page:
    """Live profiles matching ``filters``, newest first, ``limit`` after the cursor ``after``."""
    matches = _matches(conn, workspace_id, filters)
    start = 0
    if after:
        ids = [p.profile_id for p in matches]
        start = ids.index(after) + 1 if after in ids else 0
    rows = matches[start : start + limit]
    more = start + limit < len(matches)
    return Page(
        rows,
        rows[-1].profile_id if rows and more else None,
        len(matches),
        _touchpoints(conn, workspace_id),
    )


def _matches(conn: Connection, workspace_id: str, filters: Filters) -> list[Person]:
    p = profiles.c
    stmt = (
        select(p.id, p.traits, p.marketing_suppressed, p.updated_ms)
        .where(p.workspace_id == workspace_id, p.root_id == p.id)
        .order_by(p.updated_ms.desc(), p.id)
        .limit(SCAN_LIMIT)
    )
    live = list(conn.execute(stmt))
    idents, sources = _identifiers(conn, workspace_id)
    needle = filters.q.strip().casefold()
    found: list[Person] = []
    for row in live:
        traits: dict[str, Any] = orjson.loads(row.traits) if row.traits else {}
        name = str((traits.get("name") or [""])[0] or "")
        mine = idents.get(row.id, {})
        person = Person(
            row.id,
            name,
            {k: v for k, (v, _) in mine.items() if k in SHOWN_TYPES},
            sorted(sources.get(row.id, set())),
            bool(row.marketing_suppressed),
            int(row.updated_ms),
        )
        if filters.suppressed and not person.suppressed:
            continue
        if filters.touchpoint and filters.touchpoint not in person.sources:
            continue
        hay = [name, row.id, *(v for v, _ in mine.values())]
        if needle and not any(needle in h.casefold() for h in hay):
            continue
        found.append(person)
    return found


def _identifiers(
    conn: Connection, workspace_id: str
) -> tuple[dict[str, dict[str, tuple[str, str]]], dict[str, set[str]]]:
    """Per live profile, one value and its source per identifier type, and every source."""
    i, p = profile_identifiers.c, profiles.c
    stmt = (
        select(p.root_id, i.type, i.value, i.source)
        .select_from(profile_identifiers.join(profiles, p.id == i.profile_id))
        .where(i.workspace_id == workspace_id)
    )
    out: dict[str, dict[str, tuple[str, str]]] = {}
    sources: dict[str, set[str]] = {}
    for row in conn.execute(stmt):
        out.setdefault(row.root_id, {}).setdefault(row.type, (row.value, row.source))
        sources.setdefault(row.root_id, set()).add(row.source)
    return out, sources


def _touchpoints(conn: Connection, workspace_id: str) -> list[str]:
    e = profile_events.c
    stmt = select(e.source).where(e.workspace_id == workspace_id).distinct().limit(50)
    return sorted(str(s) for s in conn.scalars(stmt))
