"""Identity's rows in bulk, for benchmarks: seeding a store with synthetic people without the
stitcher, copying what the stitcher wrote (the bare-insert ceiling it is measured against), and
reading back who holds each identifier.

Rows are dicts in the shape the stitcher writes them; build them with :func:`profile_row`,
:func:`identifier_row` and :func:`event_row` rather than by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from crmos.identity.repo import bulk_insert, dumps
from crmos.store.tables_identity import profile_events, profile_identifiers, profiles


@dataclass(slots=True)
class IdentityRows:
    """Profiles, identifiers and stitched events, as rows."""

    profiles: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def profile_row(
    profile_id: str, workspace_id: str, traits: Mapping[str, Any], source: str, at_ms: int
) -> dict[str, Any]:
    """A live profile created at ``at_ms`` whose traits ``source`` stated then."""
    view = {name: [value, source, at_ms] for name, value in traits.items()}
    return {
        "id": profile_id,
        "workspace_id": workspace_id,
        "root_id": profile_id,
        "merged_into": None,
        "merge_id": None,
        "traits": dumps(view),
        "marketing_suppressed": False,
        "created_ms": at_ms,
        "updated_ms": at_ms,
    }


def identifier_row(
    workspace_id: str,
    kind: str,
    value: str,
    profile_id: str,
    source: str,
    at_ms: int,
    seq: int | None = None,
) -> dict[str, Any]:
    """An identifier (normalised ``kind:value``) that joined ``profile_id``."""
    return {"workspace_id": workspace_id, "type": kind, "value": value} | {
        "profile_id": profile_id,
        "source": source,
        "seq": seq,
        "created_ms": at_ms,
    }


def event_row(
    seq: int,
    workspace_id: str,
    profile_id: str,
    source: str,
    ts_ms: int,
    traits: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Event ``seq`` stitched to ``profile_id``, with its trait statement if any."""
    return {"seq": seq, "workspace_id": workspace_id, "profile_id": profile_id} | {
        "source": source,
        "traits": None if traits is None else dumps(dict(traits)),
        "ts_ms": ts_ms,
    }


def write_rows(conn: Connection, rows: IdentityRows) -> None:
    """Insert ``rows`` as they are (bulk, no stitching, no search-index marks)."""
    bulk_insert(conn, profiles, rows.profiles)
    bulk_insert(conn, profile_identifiers, rows.identifiers)
    bulk_insert(conn, profile_events, rows.events)


def read_rows(conn: Connection) -> IdentityRows:
    """Every profile, identifier and stitched event of the store, as rows."""
    return IdentityRows(
        profiles=[dict(r._mapping) for r in conn.execute(select(profiles))],
        identifiers=[dict(r._mapping) for r in conn.execute(select(profile_identifiers))],
        events=[dict(r._mapping) for r in conn.execute(select(profile_events))],
    )


def identifier_owners(conn: Connection) -> list[tuple[str, str, str]]:
    """(type, value, live profile) of every identifier of the store."""
    i, p = profile_identifiers.c, profiles.c
    stmt = select(i.type, i.value, p.root_id).join(profiles, p.id == i.profile_id)
    return [(str(r.type), str(r.value), str(r.root_id)) for r in conn.execute(stmt)]
