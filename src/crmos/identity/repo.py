"""Table access shared by the stitcher and the explicit operations (merge, split, review).

Every write operation starts with :func:`lock_workspace`: it serialises identity writers of one
workspace and bumps the epoch that tells the stitcher's cache to drop what it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.sql.dml import Insert

# Re-exported: identity's modules (matching included) take their timestamps as repo.now_ms().
from crmos.core.clock import now_ms as now_ms
from crmos.core.errors import NotFound
from crmos.core.settings import IdentitySettings
from crmos.identity.policy import IdentityPolicy, build_policy
from crmos.store.dialect import placeholder, upsert_add
from crmos.store.tables_identity import (
    identity_workspaces,
    profile_events,
    profile_identifiers,
    profiles,
)

IN_CHUNK = 500
_COMPILED: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[str, ...] | None]] = {}


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return orjson.dumps(value).decode()


def loads(text: str | None) -> Any:
    """Parsed JSON text (``None`` stays ``None``)."""
    return None if text is None else orjson.loads(text)


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of ``size`` (bound-parameter limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def mark(conn: Connection) -> str:
    """The driver's positional placeholder (sqlite3: ``?``, psycopg: ``%s``)."""
    return placeholder(conn)


def bulk_insert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], stmt: Insert | None = None
) -> None:
    """Insert ``rows`` (dicts with the same keys) in one driver ``executemany``.

    The statement is compiled once per dialect by SQLAlchemy; the rows go to the driver as they
    are, skipping SQLAlchemy's per-row parameter processing (the hot path's largest cost).
    """
    if not rows:
        return
    keys = tuple(rows[0])
    cache_key = (conn.dialect.name, table.name if stmt is None else f"{table.name}!", keys)
    hit = _COMPILED.get(cache_key)
    if hit is None:
        compiled = (stmt if stmt is not None else table.insert()).compile(
            dialect=conn.dialect, column_keys=list(keys)
        )
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        hit = _COMPILED[cache_key] = (str(compiled), order)
    sql, order = hit
    if order is None:
        conn.exec_driver_sql(sql, rows)
    else:
        getter = itemgetter(*order)
        if len(order) == 1:
            conn.exec_driver_sql(sql, [(getter(row),) for row in rows])
        else:
            conn.exec_driver_sql(sql, [getter(row) for row in rows])


def lock_workspace(conn: Connection, workspace_id: str) -> None:
    """Serialise identity writers of the workspace and invalidate in-memory caches.

    The stitcher calls it once per batch: the statement is built once per dialect.
    """
    stmt = _BUMPS.get(conn.dialect.name)
    if stmt is None:
        stmt = _BUMPS[conn.dialect.name] = upsert_add(
            conn.engine, identity_workspaces, ["workspace_id"], "epoch"
        )
    row = {"workspace_id": workspace_id, "config": "{}", "epoch": 1, "updated_ms": now_ms()}
    conn.execute(stmt, row)


_BUMPS: dict[str, Any] = {}


def read_epoch(conn: Connection, workspace_id: str) -> int:
    """The workspace's cache epoch, locking its row until the transaction ends (PostgreSQL)."""
    t = identity_workspaces
    stmt = select(t.c.epoch).where(t.c.workspace_id == workspace_id).with_for_update()
    return int(conn.execute(stmt).scalar_one_or_none() or 0)


def read_override(conn: Connection, workspace_id: str) -> dict[str, Any]:
    """The workspace's override of the identity settings."""
    return dict(loads(_override_text(conn, workspace_id)) or {})


def _override_text(conn: Connection, workspace_id: str) -> str | None:
    t = identity_workspaces
    stmt = select(t.c.config).where(t.c.workspace_id == workspace_id)
    text: str | None = conn.execute(stmt).scalar_one_or_none()
    return text


_DEFAULTS = IdentitySettings()
# Built policies by (settings object, override text): look-ups (``profile_of``) stay cheap.
_POLICIES: dict[tuple[int, str], tuple[IdentitySettings, IdentityPolicy]] = {}


def policy_for(
    conn: Connection, workspace_id: str, settings: IdentitySettings | None = None
) -> IdentityPolicy:
    """The effective policy of a workspace: settings (default: built-in) plus its override."""
    settings = settings or _DEFAULTS
    text = _override_text(conn, workspace_id) or "{}"
    hit = _POLICIES.get((id(settings), text))
    if hit is not None and hit[0] is settings:
        return hit[1]
    policy = build_policy(settings, dict(loads(text) or {}))
    if len(_POLICIES) > 256:
        _POLICIES.clear()
    _POLICIES[(id(settings), text)] = (settings, policy)
    return policy


def profile_row(conn: Connection, workspace_id: str, profile_id: str) -> Any:
    """The profile's row; ``NotFound`` when it is not in this workspace."""
    row = conn.execute(
        select(profiles).where(profiles.c.id == profile_id, profiles.c.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        raise NotFound("profile", profile_id)
    return row


def root_of(conn: Connection, workspace_id: str, profile_id: str) -> str:
    """The live profile ``profile_id`` resolves to (itself unless it was merged)."""
    return str(profile_row(conn, workspace_id, profile_id).root_id)


def members(conn: Connection, root_id: str) -> list[tuple[str, str | None]]:
    """Every profile resolving to ``root_id`` with its merge-tree parent (root first)."""
    rows = conn.execute(
        select(profiles.c.id, profiles.c.merged_into).where(profiles.c.root_id == root_id)
    ).all()
    return sorted(((r.id, r.merged_into) for r in rows), key=lambda r: r[0] != root_id)


def subtree(pairs: list[tuple[str, str | None]], top: str) -> set[str]:
    """``top`` and every profile below it in the merge tree given as (id, parent) pairs."""
    children: dict[str, list[str]] = {}
    for pid, parent in pairs:
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    out, todo = {top}, [top]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def statements(
    conn: Connection, profile_ids: Iterable[str]
) -> list[tuple[dict[str, Any], str, int]]:
    """The trait statements of events that joined ``profile_ids``, in log order."""
    t = profile_events
    rows: list[Any] = []
    for part in chunks(sorted(profile_ids)):
        rows += conn.execute(
            select(t.c.seq, t.c.traits, t.c.source, t.c.ts_ms).where(
                t.c.profile_id.in_(part), t.c.traits.is_not(None)
            )
        ).all()
    rows.sort(key=lambda r: r.seq)
    return [(orjson.loads(r.traits), r.source, r.ts_ms) for r in rows]


def count_identifiers(conn: Connection, profile_ids: Iterable[str]) -> int:
    """How many identifiers joined ``profile_ids``."""
    t = profile_identifiers
    total = 0
    for part in chunks(sorted(profile_ids)):
        total += int(
            conn.execute(select(func.count()).where(t.c.profile_id.in_(part))).scalar_one()
        )
    return total


def count_events(conn: Connection, profile_ids: Iterable[str]) -> int:
    """How many events joined ``profile_ids``."""
    t = profile_events
    total = 0
    for part in chunks(sorted(profile_ids)):
        total += int(
            conn.execute(select(func.count()).where(t.c.profile_id.in_(part))).scalar_one()
        )
    return total
