"""Synthetic power-law graphs for ``crmos bench graph``, and their bulk loading.

Edge sources are uniform; targets follow a Zipf-like law (P(i) ∝ (i+1)^-0.8), so a few nodes
collect tens of thousands of edges: the hubs (shared office phones, generic e-mails, big
accounts) that make uniform-random benchmarks look better than real graphs. The first 2% of
nodes are accounts, the rest profiles; three edge types; weights in (0, 1].
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

TYPES = ("works_at", "co_attended", "uses_device")
WS = "ws_bench"
ALPHA = 0.8


@dataclass(frozen=True, slots=True)
class Synthetic:
    """Edges as arrays of node indexes (deduplicated; one row per edge)."""

    n: int
    src: np.ndarray
    dst: np.ndarray
    typ: np.ndarray
    weight: np.ndarray
    names: np.ndarray

    @property
    def edges(self) -> int:
        """How many edges."""
        return int(self.src.size)

    def max_degree(self) -> int:
        """The biggest hub's degree."""
        return int(np.bincount(np.concatenate([self.src, self.dst]), minlength=self.n).max())


def generate(n: int, per_node: int = 5, seed: int = 7) -> Synthetic:
    """A power-law graph of ``n`` nodes and about ``per_node`` edges per node."""
    rng = np.random.default_rng(seed)
    m = n * per_node
    cdf = np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -ALPHA)
    cdf /= cdf[-1]
    src = rng.integers(0, n, m, dtype=np.int64)
    dst = np.minimum(np.searchsorted(cdf, rng.random(m)), n - 1).astype(np.int64)
    typ = rng.integers(0, len(TYPES), m, dtype=np.int64)
    keep = src != dst
    src, dst, typ = src[keep], dst[keep], typ[keep]
    _, first = np.unique((src * n + dst) * len(TYPES) + typ, return_index=True)
    src, dst, typ = src[first], dst[first], typ[first]
    weight = np.round(rng.random(src.size) * 0.999 + 0.001, 4)
    accounts = n // 50
    names = np.array(
        [f"account:{i}" if i < accounts else f"profile:{i}" for i in range(n)], dtype=object
    )
    return Synthetic(n, src, dst, typ, weight, names)


def adjacency(g: Synthetic) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both ends of every edge, sorted in the table's key order (node, type, -weight, other)."""
    node = np.concatenate([g.src, g.dst])
    other = np.concatenate([g.dst, g.src])
    typ = np.concatenate([g.typ, g.typ])
    neg = -np.concatenate([g.weight, g.weight])
    rank = np.empty(g.n, dtype=np.int64)
    rank[np.argsort(g.names.astype("U24"), kind="stable")] = np.arange(g.n)
    type_rank = np.argsort(np.argsort(np.array(TYPES)))  # key order of the type names
    order = np.lexsort((rank[other], neg, type_rank[typ], rank[node]))
    return node[order], typ[order], neg[order], other[order]


def _rows(
    g: Synthetic, arrays: tuple[np.ndarray, ...], chunk: int
) -> Iterator[list[tuple[Any, ...]]]:
    node, typ, neg, other = arrays
    names, types = g.names, TYPES
    for i in range(0, node.size, chunk):
        yield [
            (WS, names[a], types[t], w, names[b])
            for a, t, w, b in zip(
                node[i : i + chunk].tolist(),
                typ[i : i + chunk].tolist(),
                neg[i : i + chunk].tolist(),
                other[i : i + chunk].tolist(),
                strict=True,
            )
        ]


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_sqlite(engine: Engine, g: Synthetic, arrays: Arrays) -> int:
    """``executemany`` the adjacency rows (in key order) and the nodes; returns rows written."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        sql = "INSERT INTO graph_adjacency VALUES (?, ?, ?, ?, ?)"
        for rows in _rows(g, arrays, 200_000):
            cur.executemany(sql, rows)
        cur.executemany(
            "INSERT INTO graph_nodes VALUES (?, ?, ?, NULL, '{}', 0, 0)",
            [(WS, name, name.partition(":")[0]) for name in g.names.tolist()],
        )
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return int(arrays[0].size)


def load_postgres(engine: Engine, g: Synthetic, arrays: Arrays) -> int:
    """COPY the adjacency rows and nodes; the key is built after the load, then VACUUM ANALYZE."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("ALTER TABLE graph_adjacency DROP CONSTRAINT graph_adjacency_pkey")
        with cur.copy("COPY graph_adjacency FROM STDIN") as copy:
            for rows in _rows(g, arrays, 200_000):
                copy.write("".join(f"{a}\t{b}\t{c}\t{d!r}\t{e}\n" for a, b, c, d, e in rows))
        cols = "workspace_id, node, type, neg_weight, other"
        cur.execute(
            f"ALTER TABLE graph_adjacency ADD CONSTRAINT graph_adjacency_pkey PRIMARY KEY ({cols})"
        )
        buf = io.StringIO()
        for name in g.names.tolist():
            buf.write(f"{WS}\t{name}\t{name.partition(':')[0]}\t\\N\t{{}}\t0\t0\n")
        with cur.copy("COPY graph_nodes FROM STDIN") as copy:
            copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE graph_adjacency"))
        conn.execute(text("VACUUM ANALYZE graph_nodes"))
    return int(arrays[0].size)
