"""Writing the graph: nodes, edges with evidence, and the adjacency rows that serve queries.

An edge is keyed by the nodes it was first seen on (``src_key``/``dst_key``); ``src``/``dst``
are those nodes now, after identity merges and splits (see ``follow``). Every change of an
edge's weight or ends rewrites its two adjacency rows in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from crmos.core.clock import now_ms
from crmos.core.errors import NotFound, Problem, ValidationError
from crmos.graph.model import SYMMETRIC, EdgeView, kind_of, ordered
from crmos.store.dialect import insert_ignore
from crmos.store.tables_graph import graph_adjacency, graph_edges, graph_nodes

_e = graph_edges.c
_a = graph_adjacency.c
_n = graph_nodes.c

# Statements built once, so SQLAlchemy's compiled cache serves every call on the hot path.
_PK = (
    _e.workspace_id == bindparam("ws"),
    _e.src_key == bindparam("sk"),
    _e.type == bindparam("ty"),
    _e.dst_key == bindparam("dk"),
)
_SELECT_EDGE = select(graph_edges).where(*_PK)
_UPDATE_EDGE = (
    update(graph_edges)
    .where(*_PK)
    .values(
        weight=bindparam("weight"),
        rule=bindparam("rule"),
        evidence=bindparam("evidence"),
        updated_ms=bindparam("updated_ms"),
        valid_to_ms=None,
    )
)
_DELETE_ADJ = delete(graph_adjacency).where(
    _a.workspace_id == bindparam("ws"),
    _a.node == bindparam("a"),
    _a.type == bindparam("ty"),
    _a.neg_weight == bindparam("nw"),
    _a.other == bindparam("b"),
)
_RELABEL = (
    update(graph_nodes)
    .where(_n.workspace_id == bindparam("ws"), _n.id == bindparam("node"))
    .values(label=bindparam("label"), updated_ms=bindparam("now"))
)
_INSERTS: dict[tuple[str, str], Insert] = {}


def _insert_ignore(conn: Connection, table: Table) -> Insert:
    key = (conn.engine.dialect.name, table.name)
    if key not in _INSERTS:
        _INSERTS[key] = insert_ignore(conn.engine, table)
    return _INSERTS[key]


def live(valid_to_ms: int | None, now: int) -> bool:
    """Whether an edge ending at ``valid_to_ms`` (None: no end) is still in force at ``now``."""
    return valid_to_ms is None or valid_to_ms > now


def ensure_node(
    conn: Connection,
    workspace_id: str,
    node: str,
    label: str | None = None,
    props: dict[str, Any] | None = None,
) -> None:
    """Create ``node`` if missing; a label or props given update an existing node."""
    now = now_ms()
    row = {
        "workspace_id": workspace_id,
        "id": node,
        "kind": kind_of(node),
        "label": label[:255] if label else None,
        "props": orjson.dumps(props or {}).decode(),
        "created_ms": now,
        "updated_ms": now,
    }
    conn.execute(_insert_ignore(conn, graph_nodes), row)
    if label:
        conn.execute(
            _RELABEL, {"ws": workspace_id, "node": node, "label": row["label"], "now": now}
        )
    if props:
        conn.execute(
            update(graph_nodes)
            .where(_n.workspace_id == workspace_id, _n.id == node)
            .values(props=row["props"], updated_ms=now)
        )


def ensure_nodes(conn: Connection, workspace_id: str, nodes: dict[str, str | None]) -> None:
    """:func:`ensure_node` for many nodes (node -> label or None), in two statements."""
    if not nodes:
        return
    now = now_ms()
    rows = [
        {"workspace_id": workspace_id, "id": node, "kind": kind_of(node)}
        | {"label": label[:255] if label else None, "props": "{}"}
        | {"created_ms": now, "updated_ms": now}
        for node, label in nodes.items()
    ]
    conn.execute(_insert_ignore(conn, graph_nodes), rows)
    labels = [
        {"ws": workspace_id, "node": r["id"], "label": r["label"], "now": now}
        for r in rows
        if r["label"]
    ]
    if labels:
        conn.execute(_RELABEL, labels)


def put_edge(
    conn: Connection,
    workspace_id: str,
    ends: tuple[str, str, str, str],
    type_: str,
    *,
    weight: float,
    mode: str = "max",
    at_ms: int,
    rule: str,
    seqs: Iterable[int] = (),
    note: dict[str, Any] | None = None,
    keep: int = 20,
) -> EdgeView:
    """Create or strengthen an edge. ``ends`` = (src_key, src_now, dst_key, dst_now).

    ``mode`` ``max`` keeps the larger weight, ``add`` adds (capped at 1e6), ``set`` replaces.
    Evidence keeps the latest ``keep`` event seqs and notes.
    """
    src_key, src, dst_key, dst = ends
    if ordered(src_key, type_, dst_key) != (src_key, dst_key):
        src_key, src, dst_key, dst = dst_key, dst, src_key, src
    pk = {"ws": workspace_id, "sk": src_key, "ty": type_, "dk": dst_key}
    old = conn.execute(_SELECT_EDGE, pk).one_or_none()
    evidence = evidence_of(orjson.loads(old.evidence) if old else None, seqs, note, keep)
    new_weight = weight_of(old.weight if old else None, weight, mode)
    was_live = old is not None and live(old.valid_to_ms, now_ms())
    values: dict[str, Any] = {
        "weight": new_weight,
        "rule": rule[:100],
        "evidence": orjson.dumps(evidence).decode(),
        "updated_ms": now_ms(),
    }
    if old is None:
        row: dict[str, Any] = {"workspace_id": workspace_id, "src_key": src_key, "type": type_}
        row |= {"dst_key": dst_key, "src": src, "dst": dst, "valid_from_ms": at_ms}
        conn.execute(graph_edges.insert(), row | values | {"valid_to_ms": None})
    else:
        conn.execute(_UPDATE_EDGE, pk | values)
        if was_live and old.weight != new_weight:
            unlink(conn, workspace_id, old.src, type_, old.dst, old.weight)
    if old is None or not was_live or old.weight != new_weight:
        link(conn, workspace_id, src, type_, dst, new_weight)
    valid_from = at_ms if old is None else old.valid_from_ms
    return EdgeView(src, type_, dst, new_weight, valid_from, None, rule[:100], evidence)


def weight_of(old: float | None, new: float, mode: str) -> float:
    """An edge's weight after a change of ``new`` in ``mode`` (see :func:`put_edge`)."""
    if old is None or mode == "set":
        return new
    if mode == "add":
        return min(old + new, 1e6)
    return max(old, new)


def evidence_of(
    old: dict[str, Any] | None, seqs: Iterable[int], note: dict[str, Any] | None, keep: int
) -> dict[str, Any]:
    """An edge's evidence after a change: the latest ``keep`` event seqs and notes."""
    events = list((old or {}).get("events", []))
    for seq in seqs:
        if seq not in events:
            events.append(seq)
    notes = list((old or {}).get("notes", []))
    if note:
        notes.append(note)
    return {"events": events[-keep:], "notes": notes[-keep:]}


def link(conn: Connection, workspace_id: str, src: str, type_: str, dst: str, w: float) -> None:
    """Add the two adjacency rows of an edge (one per end)."""
    link_many(conn, link_rows(workspace_id, src, type_, dst, w))


def link_rows(
    workspace_id: str, src: str, type_: str, dst: str, w: float, live: bool = True
) -> list[dict[str, Any]]:
    """The adjacency rows of an edge (none for a self-loop or an edge no longer in force)."""
    return [
        {"workspace_id": workspace_id, "node": a, "type": type_, "neg_weight": -w, "other": b}
        for a, b in ((src, dst), (dst, src))
        if a != b and live
    ]


def link_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert adjacency rows (from :func:`link_rows`); rows already there stay as they are."""
    if rows:
        conn.execute(_insert_ignore(conn, graph_adjacency), rows)


# Two live edges may hold the same adjacency rows: after a merge, edges first seen on two
# profiles can join the same pair of nodes with the same type and weight (or a symmetric pair
# may exist in both directions). The rows go only when no live edge holds them any more.
def _holders(a: str, b: str) -> Select[tuple[str]]:
    return select(_e.src_key).where(
        _e.workspace_id == bindparam("ws"),
        _e.src == bindparam(a),
        _e.type == bindparam("ty"),
        _e.dst == bindparam(b),
        _e.weight == bindparam("w"),
        or_(_e.valid_to_ms.is_(None), _e.valid_to_ms > bindparam("now")),
    )


# One indexed lookup per direction (an OR of both made SQLite scan the workspace's edges).
_HOLDERS = union_all(_holders("a", "b"), _holders("b", "a")).limit(1)


def in_force(now: int) -> ColumnElement[bool]:
    """SQL: the edge is in force at ``now`` (no end, or an end still ahead)."""
    return or_(_e.valid_to_ms.is_(None), _e.valid_to_ms > now)


def unlink(
    conn: Connection,
    workspace_id: str,
    src: str,
    type_: str,
    dst: str,
    w: float,
    now: int | None = None,
) -> None:
    """Remove the two adjacency rows of an edge, unless another edge in force at ``now``
    (default: ``core.clock.now_ms``) holds them too.

    Call it after the edge's own row stopped holding them (re-weighted, moved, ended).
    """
    at = now if now is not None else now_ms()
    held = {"ws": workspace_id, "ty": type_, "w": w, "a": src, "b": dst, "now": at}
    if conn.execute(_HOLDERS, held).first() is not None:
        return
    rows = [
        {"ws": workspace_id, "a": a, "ty": type_, "nw": -w, "b": b}
        for a, b in ((src, dst), (dst, src))
    ]
    conn.execute(_DELETE_ADJ, rows)


def require_nodes(conn: Connection, workspace_id: str, nodes: Iterable[str]) -> None:
    """``NotFound`` naming each node missing from the workspace (and if another one holds it)."""
    n = graph_nodes.c
    wanted = sorted(set(nodes))
    for node in wanted:
        kind_of(node)
    found = set(
        conn.execute(select(n.id).where(n.workspace_id == workspace_id, n.id.in_(wanted))).scalars()
    )
    missing = [x for x in wanted if x not in found]
    if not missing:
        return
    elsewhere = set(conn.execute(select(n.id).where(n.id.in_(missing))).scalars())
    problems = [
        Problem("node", f"'{x}' belongs to another workspace", reason="other_workspace")
        if x in elsewhere
        else Problem("node", f"'{x}' does not exist in this workspace", reason="unknown")
        for x in missing
    ]
    if any(p.reason == "other_workspace" for p in problems):
        raise ValidationError("edge crosses workspaces; both ends must be yours", problems)
    raise NotFound("node", ", ".join(missing))


def add_manual_edge(
    conn: Connection,
    workspace_id: str,
    src: str,
    type_: str,
    dst: str,
    *,
    weight: float,
    reason: str,
    actor: str,
) -> EdgeView:
    """An edge asserted by a person (API/CLI); both nodes must exist in the workspace."""
    if not type_.replace("_", "").isalnum() or len(type_) > 40:
        problem = Problem("type", f"'{type_}': use snake_case letters and digits, 40 at most")
        raise ValidationError("bad edge type", [problem])
    if not 0 < weight <= 1e6:
        raise ValidationError("bad weight", [Problem("weight", f"{weight}: must be in (0, 1e6]")])
    if not reason.strip():
        raise ValidationError("edge needs a reason", [Problem("reason", "must not be empty")])
    require_nodes(conn, workspace_id, (src, dst))
    note = {"by": actor[:200], "reason": reason[:500]}
    ends = (src, src, dst, dst)
    return put_edge(
        conn,
        workspace_id,
        ends,
        type_,
        weight=weight,
        mode="set",
        at_ms=now_ms(),
        rule="manual",
        note=note,
    )


def edge_views(
    conn: Connection, workspace_id: str, pairs: Iterable[tuple[str, str, str]]
) -> list[EdgeView]:
    """The live edges between given (a, type, b) pairs, either direction, with evidence."""
    given = list(pairs)
    wanted = sorted(
        {(*ordered(a, t, b), t) for a, t, b in given} | {(b, a, t) for a, t, b in given}
    )
    out: list[EdgeView] = []
    for i in range(0, len(wanted), 200):
        part = wanted[i : i + 200]
        cond = [and_(_e.src == s, _e.dst == d, _e.type == t) for s, d, t in part]
        stmt = select(graph_edges).where(_e.workspace_id == workspace_id, in_force(now_ms()))
        for r in conn.execute(stmt.where(or_(*cond))):
            out.append(view(r))
    return sorted(out, key=lambda e: (-e.weight, e.src, e.type, e.dst))


def view(r: Any) -> EdgeView:
    """An edge row as an :class:`EdgeView`."""
    evidence = orjson.loads(r.evidence)
    return EdgeView(
        r.src, r.type, r.dst, r.weight, r.valid_from_ms, r.valid_to_ms, r.rule, evidence
    )


def close_edge(
    conn: Connection, workspace_id: str, src: str, type_: str, dst: str, *, reason: str, actor: str
) -> list[EdgeView]:
    """End the live edges between two nodes (``valid_to_ms`` = now); history and evidence stay.

    ``NotFound`` when no live edge of that type joins them.
    """
    if not reason.strip():
        raise ValidationError("closing needs a reason", [Problem("reason", "must not be empty")])
    a, b = ordered(src, type_, dst)
    ends = and_(_e.src == a, _e.dst == b)
    if type_ in SYMMETRIC:  # after merges a symmetric pair may be stored either way round
        ends = or_(ends, and_(_e.src == b, _e.dst == a))
    rows = conn.execute(
        select(graph_edges).where(
            _e.workspace_id == workspace_id, _e.type == type_, ends, in_force(now_ms())
        )
    ).all()
    if not rows:
        raise NotFound("edge", f"{src} -[{type_}]- {dst}")
    now = now_ms()
    closed = []
    for r in rows:
        evidence = evidence_of(
            orjson.loads(r.evidence), (), {"closed_by": actor, "reason": reason}, 20
        )
        pk = {"ws": workspace_id, "sk": r.src_key, "ty": type_, "dk": r.dst_key}
        conn.execute(
            update(graph_edges)
            .where(*_PK)
            .values(valid_to_ms=now, evidence=orjson.dumps(evidence).decode(), updated_ms=now),
            pk,
        )
        unlink(conn, workspace_id, r.src, type_, r.dst, r.weight)
        closed.append(
            EdgeView(r.src, type_, r.dst, r.weight, r.valid_from_ms, now, r.rule, evidence)
        )
    return closed
