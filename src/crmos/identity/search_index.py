"""Keeping the profile search index: marking profiles stale, and re-indexing them.

Identity's writers (the stitcher, merges, splits) only mark the profiles they touch as pending,
in their own transaction: they hold no key, and hashing is kept off the event stream's path.
Whoever holds the workspace's search key (a search, a listing, ``crmos profiles reindex``)
claims pending profiles and re-indexes each one's whole live tree: the tokens of every
identifier in the tree, of the live profile's traits and of its touchpoints, and its row (first
and last seen, event count). Claiming deletes the pending row first, so two indexers never do
the same profile at once (PostgreSQL blocks the second on the row until the first commits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select

from crmos.identity import repo
from crmos.identity.search_tokens import (
    MAX_TOKENS,
    blind,
    identifier_tokens,
    touchpoint_token,
    trait_tokens,
)
from crmos.store.dialect import insert_ignore
from crmos.store.tables_identity import (
    profile_events,
    profile_identifiers,
    profile_search_pending,
    profile_search_rows,
    profile_search_tokens,
    profiles,
)

BATCH = 500
_p, _i, _e = profiles.c, profile_identifiers.c, profile_events.c
_t, _r, _q = profile_search_tokens.c, profile_search_rows.c, profile_search_pending.c


def mark_pending(conn: Connection, workspace_id: str, profile_ids: Iterable[str]) -> None:
    """Mark profiles (any in a tree) as needing re-indexing, in the caller's transaction."""
    rows = [{"workspace_id": workspace_id, "profile_id": pid} for pid in sorted(set(profile_ids))]
    if rows:
        stmt = insert_ignore(conn.engine, profile_search_pending)
        repo.bulk_insert(conn, profile_search_pending, rows, stmt)


def mark_workspace(conn: Connection, workspace_id: str) -> int:
    """Mark every live profile of the workspace as pending (a full re-index); how many."""
    roots = conn.execute(
        select(_p.id).where(_p.workspace_id == workspace_id, _p.root_id == _p.id)
    ).scalars()
    ids = list(roots)
    for part in repo.chunks(ids, 5000):
        mark_pending(conn, workspace_id, part)
    return len(ids)


def has_pending(conn: Connection, workspace_id: str) -> bool:
    """Whether any profile of the workspace waits to be indexed."""
    stmt = select(_q.profile_id).where(_q.workspace_id == workspace_id).limit(1)
    return conn.execute(stmt).first() is not None


def index_pending(
    conn: Connection, key: bytes, workspace_id: str, *, limit: int | None = None
) -> int:
    """Re-index the workspace's pending profiles (at most ``limit``); how many were claimed."""
    done = 0
    while limit is None or done < limit:
        size = BATCH if limit is None else min(BATCH, limit - done)
        wanted = list(
            conn.execute(
                select(_q.profile_id).where(_q.workspace_id == workspace_id).limit(size)
            ).scalars()
        )
        if not wanted:
            break
        claimed = _claim(conn, workspace_id, wanted)
        index_profiles(conn, key, workspace_id, claimed)
        done += len(wanted)
    return done


def _claim(conn: Connection, workspace_id: str, wanted: Sequence[str]) -> list[str]:
    stmt = (
        delete(profile_search_pending)
        .where(_q.workspace_id == workspace_id, _q.profile_id.in_(wanted))
        .returning(_q.profile_id)
    )
    return list(conn.execute(stmt).scalars())


def index_profiles(
    conn: Connection, key: bytes, workspace_id: str, profile_ids: Sequence[str]
) -> None:
    """Re-index the live trees of ``profile_ids`` now (ids gone from the store lose entries)."""
    if not profile_ids:
        return
    found = dict(
        conn.execute(
            select(_p.id, _p.root_id).where(
                _p.workspace_id == workspace_id, _p.id.in_(sorted(profile_ids))
            )
        ).all()
    )
    roots = sorted(set(found.values()))
    trees = _trees(conn, roots)
    stale = set(profile_ids) | {pid for members in trees.values() for pid in members}
    forget(conn, workspace_id, stale)
    tokens, rows = _entries(conn, key, workspace_id, trees)
    if tokens:
        stmt = insert_ignore(conn.engine, profile_search_tokens)
        repo.bulk_insert(conn, profile_search_tokens, tokens, stmt)
    if rows:  # ignore: a concurrent indexer of the same tree may have written it first
        stmt = insert_ignore(conn.engine, profile_search_rows)
        repo.bulk_insert(conn, profile_search_rows, rows, stmt)


def forget(conn: Connection, workspace_id: str, profile_ids: Iterable[str]) -> dict[str, int]:
    """Delete the search entries of ``profile_ids``; rows deleted per table (erasure uses it)."""
    counts = {"profile_search_tokens": 0, "profile_search_rows": 0, "profile_search_pending": 0}
    for part in repo.chunks(sorted(set(profile_ids))):
        for table, cols in (
            (profile_search_tokens, _t),
            (profile_search_rows, _r),
            (profile_search_pending, _q),
        ):
            where = (cols.workspace_id == workspace_id) & cols.profile_id.in_(part)
            counts[table.name] += conn.execute(delete(table).where(where)).rowcount or 0
    return counts


def _trees(conn: Connection, roots: Sequence[str]) -> dict[str, list[str]]:
    trees: dict[str, list[str]] = {r: [] for r in roots}
    for part in repo.chunks(roots):
        for pid, root in conn.execute(select(_p.id, _p.root_id).where(_p.root_id.in_(part))):
            trees[root].append(pid)
    return trees


def _entries(
    conn: Connection, key: bytes, workspace_id: str, trees: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The token rows and search rows of the live profiles ``trees`` maps to their members."""
    words: dict[str, set[str]] = {root: set() for root in trees}
    owner = {pid: root for root, members in trees.items() for pid in members}
    members = sorted(owner)
    for part in repo.chunks(members):
        stmt = select(_i.profile_id, _i.type, _i.value, _i.source).where(_i.profile_id.in_(part))
        for pid, kind, value, source in conn.execute(stmt):
            words[owner[pid]] |= identifier_tokens(kind, value) | {touchpoint_token(source)}
    stats: dict[str, list[int]] = {root: [0, 0] for root in trees}  # last seen, events
    for part in repo.chunks(members):
        stmt = (
            select(_e.profile_id, _e.source, func.max(_e.ts_ms), func.count())
            .where(_e.profile_id.in_(part))
            .group_by(_e.profile_id, _e.source)
        )
        for pid, source, last, count in conn.execute(stmt):
            seen = stats[owner[pid]]
            seen[0], seen[1] = max(seen[0], int(last or 0)), seen[1] + int(count)
            words[owner[pid]].add(touchpoint_token(source))
    tokens: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for part in repo.chunks(sorted(trees)):
        for pid, traits, created in conn.execute(
            select(_p.id, _p.traits, _p.created_ms).where(_p.id.in_(part))
        ):
            view = orjson.loads(traits)
            found = words[pid] | trait_tokens({n: e[0] for n, e in view.items()})
            hashed = blind(key, sorted(found)[:MAX_TOKENS])
            tokens.extend(
                {"workspace_id": workspace_id, "token": h, "profile_id": pid} for h in hashed
            )
            last, count = stats[pid]
            rows.append(
                {"workspace_id": workspace_id, "profile_id": pid, "created_ms": created}
                | {"last_seen_ms": last or created, "events": count}
            )
    return tokens, rows


def reindex_workspace(conn: Connection, key: bytes, workspace_id: str) -> int:
    """Rebuild the workspace's whole search index (a backfill, or after a master-key change)."""
    marked = mark_workspace(conn, workspace_id)
    index_pending(conn, key, workspace_id)
    return marked
