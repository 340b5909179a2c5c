"""The edges and nodes one consumer batch changes, kept in memory and written together.

The consumer strengthens the same few edges again and again (every co-attendee of an
occasion, every partner of an account) and states many new ones (a new profile's account and
device); writing each change as it happens costs a read and one to four statements per edge.
:class:`EdgeBuffer` queues the changes, reads the edges they touch in a few multi-key reads,
applies each change with exactly the arithmetic of ``put_edge`` (same weight modes, same
evidence, in the same order), and writes the batch with one multi-row statement each for
nodes, new edges, changed edges and adjacency rows. Whatever reads a type with changes
pending either flushes first (:meth:`EdgeBuffer.flush`) or overlays them
(:meth:`EdgeBuffer.changed_to`), so no read misses a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, TextClause, bindparam, select, text, update
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement

from crmos.core.clock import now_ms
from crmos.graph.edges import (
    ensure_nodes,
    evidence_of,
    link_rows,
    live,
    unlink,
    weight_of,
)
from crmos.graph.model import EdgeView, ordered
from crmos.store.dialect import insert_ignore
from crmos.store.tables_graph import graph_adjacency, graph_edges

_e = graph_edges.c
_ONE = select(graph_edges).where(
    _e.workspace_id == bindparam("ws"),
    _e.src_key == bindparam("sk"),
    _e.type == bindparam("ty"),
    _e.dst_key == bindparam("dk"),
)
_COLUMNS = ", ".join(c.name for c in graph_edges.columns)
SIZES = (4, 32, 128, 400)  # key counts a load statement is built for (the last is the chunk)
_LOADS: dict[int, TextClause] = {}


def _load_statement(size: int) -> TextClause:
    """Edges by key, one primary-key lookup per key: an OR of whole keys (each term names
    every key column, or SQLite does not use the key). ``src_key IN (..) AND dst_key IN (..)``
    would look up every combination of the two lists, and SQLite does not use the key for a
    row-value ``IN (VALUES ..)``."""
    if size not in _LOADS:
        key = "(workspace_id = :ws AND src_key = :s{0} AND type = :ty AND dst_key = :d{0})"
        pairs = " OR ".join(key.format(i) for i in range(size))
        _LOADS[size] = text(f"SELECT {_COLUMNS} FROM {graph_edges.name} WHERE {pairs}")
    return _LOADS[size]


_UPDATE = (
    update(graph_edges)
    .where(
        _e.workspace_id == bindparam("ws"),
        _e.src_key == bindparam("sk"),
        _e.type == bindparam("ty"),
        _e.dst_key == bindparam("dk"),
    )
    .values(
        weight=bindparam("weight"),
        rule=bindparam("rule"),
        evidence=bindparam("evidence"),
        updated_ms=bindparam("updated_ms"),
        valid_to_ms=bindparam("valid_to"),
    )
)
CHUNK = SIZES[-1]
_INSERT = graph_edges.insert()
_LINKS: dict[str, Insert] = {}
_COMPILED: dict[tuple[str, int], tuple[str, tuple[str, ...] | None]] = {}


def run_many(conn: Connection, stmt: ClauseElement, rows: list[dict[str, Any]]) -> None:
    """``executemany`` straight through the driver. The statement (a module-level object, every
    row with the same keys) is compiled once per dialect; the rows then skip SQLAlchemy's
    per-row parameter processing, which costs more than the database's own work here (the
    graph's column types need no conversion)."""
    if not rows:
        return
    key = (conn.engine.dialect.name, id(stmt))
    if key not in _COMPILED:
        compiled = stmt.compile(dialect=conn.engine.dialect, column_keys=list(rows[0]))
        assert isinstance(compiled, SQLCompiler)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        _COMPILED[key] = (str(compiled), order)
    sql, order = _COMPILED[key]
    if order is None:
        conn.exec_driver_sql(sql, rows)
    else:
        conn.exec_driver_sql(sql, [tuple(r[k] for k in order) for r in rows])


Key = tuple[str, str, str]  # (type, src_key, dst_key)
Ends = tuple[str, str, str, str]  # (src_key, src_now, dst_key, dst_now)


@dataclass(slots=True)
class Pending:
    """An edge as the batch sees it, and as the store holds it (``stored``; None if new)."""

    src: str
    dst: str
    weight: float
    valid_from: int
    valid_to: int | None
    rule: str
    evidence: dict[str, Any]
    stored: tuple[str, str, float, int | None] | None
    dirty: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """One ``put_edge`` change: ends, type, weight and how to combine it, evidence, validity."""

    ends: Ends
    type: str
    weight: float
    mode: str
    at_ms: int
    rule: str
    seqs: tuple[int, ...] = ()
    note: dict[str, Any] | None = None
    valid_ms: int | None = None


class EdgeBuffer:
    """The edges and nodes a batch changed, written by :meth:`flush` (see the module doc)."""

    def __init__(self, conn: Connection, workspace_id: str, keep: int, now: int) -> None:
        self._conn = conn
        self._ws = workspace_id
        self._keep = keep
        self._now = now
        self._edges: dict[Key, Pending] = {}
        self._queue: dict[Key, list[Change]] = {}
        self._at: dict[tuple[str, str], set[Key]] = {}
        self._types: set[str] = set()
        self._nodes: dict[str, str | None] = {}

    def node(self, node: str, label: str | None = None) -> None:
        """``ensure_node`` at the next flush (a label given relabels, the last one wins)."""
        if label or node not in self._nodes:
            self._nodes[node] = label or self._nodes.get(node)

    def add(self, changes: list[Change]) -> None:
        """Queue changes whose result nobody waits for (applied in order at the latest flush)."""
        for c in changes:
            key = _key(c)
            self._queue.setdefault(key, []).append(c)
            self._index(key, c)
            self._types.add(c.type)

    def put(self, changes: list[Change]) -> list[EdgeView]:
        """Apply changes now, in order (several may hit one edge); each edge after its change."""
        keyed = [(_key(c), c) for c in changes]
        self._settle({k for k, _ in keyed})
        out = []
        for key, c in keyed:
            self._index(key, c)
            out.append(self._apply(key, c))
        return out

    def changed(self, type_: str, node: str) -> list[tuple[Key, Pending]]:
        """The unwritten edges of ``type_`` with ``node`` at an end, as they are now."""
        keys = self._at.get((type_, node), set())
        self._settle(keys)
        return [(k, self._edges[k]) for k in sorted(keys) if self._edges[k].dirty]

    def added_adjacency(self, type_: str, node: str) -> list[tuple[float, str]] | None:
        """The adjacency rows (weight, other end) of ``node`` the unwritten edges of ``type_``
        add; None when one of them also takes a row away (then flush and read instead)."""
        added = []
        for _, edge in self.changed(type_, node):
            was, same = self._adjacency(edge)
            if was is not None and not same:
                return None
            if not same and self._live(edge) and edge.src != edge.dst:
                added.append((edge.weight, edge.dst if edge.src == node else edge.src))
        return added

    def _index(self, key: Key, c: Change) -> None:
        _, src, _, dst = c.ends
        for node in (src, dst):
            self._at.setdefault((c.type, node), set()).add(key)

    def flush(self, type_: str | None = None) -> None:
        """Write everything pending (when ``type_`` is given: only if that type has changes)."""
        if type_ is not None and type_ not in self._types:
            return
        self._settle(set(self._queue))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        unlinks: list[tuple[str, str, str, float]] = []
        links: list[dict[str, Any]] = []
        for (ty, sk, dk), edge in sorted(self._edges.items()):  # key order: B-tree locality
            if not edge.dirty:
                continue
            (updates if edge.stored else inserts).append(self._row(ty, sk, dk, edge))
            was, same = self._adjacency(edge)
            if was is not None and not same:
                unlinks.append((was[0], ty, was[1], was[2]))
            if not same:
                links += link_rows(self._ws, edge.src, ty, edge.dst, edge.weight, self._live(edge))
            edge.stored = (edge.src, edge.dst, edge.weight, edge.valid_to)
            edge.dirty = False
        ensure_nodes(self._conn, self._ws, dict(sorted(self._nodes.items())))
        self._nodes = {}
        self._write(inserts, updates, unlinks, links)
        self._types.clear()

    def _live(self, edge: Pending) -> bool:
        return live(edge.valid_to, self._now)

    def _adjacency(self, edge: Pending) -> tuple[tuple[str, str, float] | None, bool]:
        """The adjacency the stored edge holds (None if none), and whether it stays as it is."""
        if edge.stored is None:
            return None, False
        src, dst, weight, valid_to = edge.stored
        was = (src, dst, weight) if live(valid_to, self._now) else None
        return was, was == (edge.src, edge.dst, edge.weight) and self._live(edge)

    def _write(
        self,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        unlinks: list[tuple[str, str, str, float]],
        links: list[dict[str, Any]],
    ) -> None:
        run_many(self._conn, _INSERT, inserts)
        params = [
            {"ws": r["workspace_id"], "sk": r["src_key"], "ty": r["type"], "dk": r["dst_key"]}
            | {k: r[k] for k in ("weight", "rule", "evidence", "updated_ms")}
            | {"valid_to": r["valid_to_ms"]}
            for r in updates
        ]
        run_many(self._conn, _UPDATE, params)
        for src, ty, dst, weight in unlinks:  # after the updates: they count the live holders
            unlink(self._conn, self._ws, src, ty, dst, weight, self._now)
        dialect = self._conn.engine.dialect.name
        if dialect not in _LINKS:
            _LINKS[dialect] = insert_ignore(self._conn.engine, graph_adjacency)
        run_many(self._conn, _LINKS[dialect], links)

    def _row(self, ty: str, sk: str, dk: str, edge: Pending) -> dict[str, Any]:
        return {
            "workspace_id": self._ws,
            "src_key": sk,
            "type": ty,
            "dst_key": dk,
            "src": edge.src,
            "dst": edge.dst,
            "weight": edge.weight,
            "valid_from_ms": edge.valid_from,
            "valid_to_ms": edge.valid_to,
            "rule": edge.rule,
            "evidence": orjson.dumps(edge.evidence).decode(),
            "updated_ms": now_ms(),
        }

    def _settle(self, keys: set[Key]) -> None:
        """Read the stored state of ``keys`` not read yet, then apply their queued changes."""
        self._load([k for k in keys if k not in self._edges])
        for key in sorted(keys):
            for c in self._queue.pop(key, ()):
                self._apply(key, c)

    def _load(self, keys: list[Key]) -> None:
        by_type: dict[str, list[Key]] = {}
        for k in sorted(keys):
            by_type.setdefault(k[0], []).append(k)
        for ty, all_keys in by_type.items():
            for i in range(0, len(all_keys), CHUNK):
                self._load_part(ty, set(all_keys[i : i + CHUNK]))

    def _load_part(self, ty: str, wanted: set[Key]) -> None:
        if len(wanted) == 1:  # most reads during a batch: one primary-key lookup
            ((_, sk, dk),) = wanted
            rows = self._conn.execute(_ONE, {"ws": self._ws, "sk": sk, "ty": ty, "dk": dk})
            self._found(ty, wanted, rows)
            return
        keys = sorted(wanted)
        size = next(n for n in SIZES if n >= len(keys))
        keys += [keys[-1]] * (size - len(keys))  # a few statement sizes, each prepared once
        params: dict[str, Any] = {"ws": self._ws, "ty": ty}
        for i, (_, sk, dk) in enumerate(keys):
            params[f"s{i}"], params[f"d{i}"] = sk, dk
        self._found(ty, wanted, self._conn.execute(_load_statement(size), params))

    def _found(self, ty: str, wanted: set[Key], rows: Any) -> None:
        for r in rows:
            key = (ty, r.src_key, r.dst_key)
            if key in wanted:
                stored = (r.src, r.dst, r.weight, r.valid_to_ms)
                evidence = orjson.loads(r.evidence)
                self._edges[key] = Pending(
                    r.src, r.dst, r.weight, r.valid_from_ms, r.valid_to_ms, r.rule, evidence, stored
                )

    def _apply(self, key: Key, c: Change) -> EdgeView:
        edge = self._edges.get(key)
        old_weight = edge.weight if edge is not None else None
        if edge is None:
            src, dst = _now_ends(c)
            edge = Pending(src, dst, c.weight, c.at_ms, None, "", {}, None)
            self._edges[key] = edge
        edge.weight = weight_of(old_weight, c.weight, c.mode)
        edge.evidence = evidence_of(edge.evidence or None, c.seqs, c.note, self._keep)
        edge.rule = c.rule[:100]
        edge.valid_to = _valid_to(edge.valid_to, c, self._now, fresh=old_weight is None)
        edge.dirty = True
        self._types.add(key[0])
        return EdgeView(
            edge.src,
            key[0],
            edge.dst,
            edge.weight,
            edge.valid_from,
            edge.valid_to,
            edge.rule,
            edge.evidence,
        )


def _key(c: Change) -> Key:
    sk, _, dk, _ = c.ends
    a, b = ordered(sk, c.type, dk)
    return (c.type, a, b)


def _now_ends(c: Change) -> tuple[str, str]:
    sk, s, dk, d = c.ends
    return (s, d) if ordered(sk, c.type, dk) == (sk, dk) else (d, s)


def _valid_to(old: int | None, c: Change, now: int, *, fresh: bool) -> int | None:
    """Rule edges with a validity last ``valid_ms`` past their latest evidence, and a live
    edge's end only moves later; edges without one (re)open without an end, as ``put_edge``."""
    if c.valid_ms is None:
        return None
    end = c.at_ms + c.valid_ms
    if fresh or old is None or old <= now:  # new, without an end so far, or ended: anew
        return end
    return max(old, end)
