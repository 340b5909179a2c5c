"""A profile's activity as identity knows it: the merge tree, and which events joined it when.

The console's timeline pages through a profile's events newest first; identity keeps one row per
attributed event (``profile_events``), so the page is read here by time and the event log is
asked only for the rows of that page.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, and_, or_, select

from crmos.identity import repo
from crmos.store.tables_identity import profile_events


class EventMark(NamedTuple):
    """An event attributed to a profile of the tree: its log ``seq``, time and touchpoint."""

    seq: int
    ts_ms: int
    source: str
    profile_id: str


def profile_tree(conn: Connection, workspace_id: str, profile_id: str) -> list[str]:
    """The live profile ``profile_id`` resolves to, then every profile merged into it.

    Raises ``NotFound`` when the id is not a profile of the workspace.
    """
    root = repo.root_of(conn, workspace_id, profile_id)
    return [pid for pid, _ in repo.members(conn, root)]


def event_marks(
    conn: Connection,
    workspace_id: str,
    tree: list[str],
    *,
    before: tuple[int, int] | None = None,
    since_ms: int | None = None,
    source: str | None = None,
    limit: int = 25,
) -> list[EventMark]:
    """Events of the profiles in ``tree``, newest first by (time, seq).

    ``before`` = (ts_ms, seq) keeps only events strictly older in that order (a cursor);
    ``since_ms`` keeps events at or after it; ``source`` keeps one touchpoint.
    """
    t = profile_events.c
    stmt = select(t.seq, t.ts_ms, t.source, t.profile_id).where(
        t.profile_id.in_(tree), t.workspace_id == workspace_id
    )
    if before is not None:
        stmt = stmt.where(or_(t.ts_ms < before[0], and_(t.ts_ms == before[0], t.seq < before[1])))
    if since_ms is not None:
        stmt = stmt.where(t.ts_ms >= since_ms)
    if source is not None:
        stmt = stmt.where(t.source == source)
    stmt = stmt.order_by(t.ts_ms.desc(), t.seq.desc()).limit(limit)
    return [
        EventMark(int(r.seq), int(r.ts_ms), str(r.source), str(r.profile_id))
        for r in conn.execute(stmt)
    ]


def event_sources(conn: Connection, workspace_id: str, tree: list[str]) -> list[str]:
    """The touchpoints the profiles in ``tree`` were seen through, sorted."""
    t = profile_events.c
    stmt = select(t.source).where(t.profile_id.in_(tree), t.workspace_id == workspace_id).distinct()
    return sorted(str(s) for s in conn.execute(stmt).scalars())
