"""The analytics room's tables: fitted models per workspace, values per profile."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from crmos.store import in_chunks
from crmos.store.tables_analytics import analytics_models, analytics_values

VALUE_FIELDS = (
    "frequency",
    "recency",
    "age",
    "monetary",
    "currency",
    "expected_purchases",
    "p_alive",
    "clv",
    "churn",
    "renewal",
    "purchase",
)


def save_model(
    conn: Connection,
    workspace_id: str,
    kind: str,
    version: str,
    fitted_ms: int,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
) -> None:
    """Replace the workspace's ``kind`` model."""
    m = analytics_models.c
    conn.execute(delete(analytics_models).where(m.workspace_id == workspace_id, m.kind == kind))
    conn.execute(
        analytics_models.insert(),
        {
            "workspace_id": workspace_id,
            "kind": kind,
            "version": version,
            "fitted_ms": fitted_ms,
            "params": orjson.dumps(params).decode(),
            "metrics": orjson.dumps(metrics).decode(),
        },
    )


def models(conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's fitted models, by kind."""
    rows = conn.execute(
        select(analytics_models)
        .where(analytics_models.c.workspace_id == workspace_id)
        .order_by(analytics_models.c.kind)
    )
    return [
        {
            "kind": r.kind,
            "version": r.version,
            "fitted_ms": r.fitted_ms,
            "params": orjson.loads(r.params),
            "metrics": orjson.loads(r.metrics),
        }
        for r in rows
    ]


def replace_values(conn: Connection, workspace_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace every stored value of the workspace with ``rows`` (one per profile)."""
    conn.execute(delete(analytics_values).where(analytics_values.c.workspace_id == workspace_id))
    payload = [
        {"workspace_id": workspace_id, **{k: r.get(k) for k in VALUE_FIELDS}}
        | {
            "profile_id": r["profile_id"],
            "scored_ms": r["scored_ms"],
            "clv_version": r.get("clv_version"),
            "reasons": orjson.dumps(r.get("reasons") or {}).decode(),
        }
        for r in rows
    ]
    for start in range(0, len(payload), 500):
        conn.execute(analytics_values.insert(), payload[start : start + 500])


def value_rows(
    conn: Connection, workspace_id: str | None, profile_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The stored values of ``profile_ids`` (those scored), by profile id; in any workspace
    when ``workspace_id`` is None (profile ids are unique across workspaces)."""
    v = analytics_values.c
    where = in_chunks(v.profile_id, list(profile_ids))
    if workspace_id is not None:
        where = where & (v.workspace_id == workspace_id)
    return {r.profile_id: _value(r) for r in conn.execute(select(analytics_values).where(where))}


def _value(r: Any) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(r, k) for k in VALUE_FIELDS}
    out |= {
        "profile_id": r.profile_id,
        "scored_ms": r.scored_ms,
        "clv_version": r.clv_version,
        "reasons": orjson.loads(r.reasons),
    }
    return out


def top_values(conn: Connection, workspace_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The workspace's profiles with the highest CLV first."""
    v = analytics_values.c
    rows = conn.execute(
        select(analytics_values)
        .where(v.workspace_id == workspace_id, v.clv.is_not(None))
        .order_by(v.clv.desc())
        .limit(limit)
    )
    return [_value(r) for r in rows]


def delete_values(conn: Connection, workspace_id: str, profile_ids: Sequence[str]) -> int:
    """Forget the values of ``profile_ids``; returns the rows deleted."""
    v = analytics_values.c
    where = (v.workspace_id == workspace_id) & in_chunks(v.profile_id, list(profile_ids))
    return conn.execute(delete(analytics_values).where(where)).rowcount or 0


RANKED_COLUMNS = ("clv", "churn")
"""The stored values a listing may rank or bound profiles by."""


def ranked_by_value(
    conn: Connection,
    workspace_id: str,
    descending: bool = True,
    after: tuple[float, str] | None = None,
    limit: int = 200,
    among: Collection[str] | None = None,
) -> list[tuple[str, float]]:
    """``(profile_id, clv)`` of the workspace's profiles with a CLV, ranked by it (ties by
    profile id in the same direction), starting after the ``(clv, profile_id)`` ``after``;
    with ``among``, only those profiles (ranked here: a short list, read by key)."""
    if among is not None:
        return _ranked_among(conn, workspace_id, descending, after, limit, among)
    v = analytics_values.c
    stmt = select(v.profile_id, v.clv).where(v.workspace_id == workspace_id, v.clv.is_not(None))
    if after is not None:
        value, pid = after
        if descending:
            stmt = stmt.where((v.clv < value) | ((v.clv == value) & (v.profile_id < pid)))
        else:
            stmt = stmt.where((v.clv > value) | ((v.clv == value) & (v.profile_id > pid)))
    order = (v.clv.desc(), v.profile_id.desc()) if descending else (v.clv, v.profile_id)
    rows = conn.execute(stmt.order_by(*order).limit(limit))
    return [(str(pid), float(clv)) for pid, clv in rows]


def _ranked_among(
    conn: Connection,
    workspace_id: str,
    descending: bool,
    after: tuple[float, str] | None,
    limit: int,
    among: Collection[str],
) -> list[tuple[str, float]]:
    v = analytics_values.c
    stmt = select(v.profile_id, v.clv).where(
        in_chunks(v.profile_id, sorted(among)), v.workspace_id == workspace_id
    )
    ranked = sorted(
        ((float(clv), str(pid)) for pid, clv in conn.execute(stmt) if clv is not None),
        reverse=descending,
    )
    if after is not None:
        ranked = [r for r in ranked if (r < after if descending else r > after)]
    return [(pid, clv) for clv, pid in ranked[:limit]]


def profiles_in_range(
    conn: Connection,
    workspace_id: str,
    column: str,
    low: float | None = None,
    high: float | None = None,
) -> set[str]:
    """The profiles whose stored ``column`` (one of :data:`RANKED_COLUMNS`) is known and lies
    within ``low`` and ``high`` (both inclusive); None leaves a side open."""
    if column not in RANKED_COLUMNS:
        raise ValueError(f"unknown value column {column!r}; valid: {RANKED_COLUMNS}")
    v = analytics_values.c
    col = v[column]
    stmt = select(v.profile_id).where(v.workspace_id == workspace_id, col.is_not(None))
    if low is not None:
        stmt = stmt.where(col >= low)
    if high is not None:
        stmt = stmt.where(col <= high)
    return set(conn.execute(stmt).scalars())
