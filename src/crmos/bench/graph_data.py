"""Synthetic power-law graphs for ``crmos bench graph``, and their bulk loading.

Edge sources are uniform; targets follow a Zipf-like law (P(i) ∝ (i+1)^-0.8), so a few nodes
collect tens of thousands of edges: the hubs (shared office phones, generic e-mails, big
accounts) that make uniform-random benchmarks look better than real graphs. The first 2% of
nodes are accounts, the rest profiles; three edge types; weights in (0, 1].
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import psycopg
from psycopg.copy import QueuedLibpqWriter
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
    names: list[str]

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
    # one edge per unordered pair and type: a->b and b->a of equal weight would give the same
    # adjacency row twice
    pair = np.minimum(src, dst) * n + np.maximum(src, dst)
    _, first = np.unique(pair * len(TYPES) + typ, return_index=True)
    src, dst, typ = src[first], dst[first], typ[first]
    weight = np.round(rng.random(src.size) * 0.999 + 0.001, 4)
    accounts = n // 50
    names = [f"account:{i}" if i < accounts else f"profile:{i}" for i in range(n)]
    return Synthetic(n, src, dst, typ, weight, names)


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def adjacency(g: Synthetic) -> Arrays:
    """Both ends of every edge, sorted in the table's key order (node, type, -weight, other).

    Sorted rows append to the right-most page of the key (no page splits in the middle); one
    radix-friendly ``argsort`` of a packed 64-bit key is several times faster than ``lexsort``.
    """
    node = np.concatenate([g.src, g.dst])
    other = np.concatenate([g.dst, g.src])
    typ = np.concatenate([g.typ, g.typ])
    weight = np.concatenate([g.weight, g.weight])
    rank = np.empty(g.n, dtype=np.int64)
    rank[np.argsort(np.array(g.names), kind="stable")] = np.arange(g.n)
    type_rank = np.argsort(np.argsort(np.array(TYPES)))[typ]  # key order of the type names
    bits = max(int(g.n - 1).bit_length(), 1)
    if 2 * bits + 2 + 14 <= 63:  # weights have 4 decimals: 10,001 steps fit 14 bits
        strength = 10_000 - np.rint(weight * 10_000).astype(np.int64)
        key = ((rank[node] << 2 | type_rank) << 14 | strength) << bits | rank[other]
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((rank[other], -weight, type_rank, rank[node]))
    return node[order], typ[order], -weight[order], other[order]


def _columns(g: Synthetic, arrays: Arrays, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
    """Rows ``lo:hi`` as (node, type, neg_weight, other) tuples, zipped in C (no Python loop)."""
    node, typ, neg, other = (a[lo:hi].tolist() for a in arrays)
    name, kind = g.names.__getitem__, TYPES.__getitem__
    return zip(map(name, node), map(kind, typ), neg, map(name, other), strict=True)


CHUNK = 1_000_000


def load_sqlite(engine: Engine, g: Synthetic, arrays: Arrays) -> int:
    """Bulk-build the adjacency rows (in key order) and the nodes; returns rows written.

    A benchmark build of a fresh file: no rollback journal (a failed build is thrown away),
    no fsync, one transaction, a 1 GiB page cache; the store's WAL mode is put back after.
    """
    raw = engine.raw_connection()
    try:
        db = cast(sqlite3.Connection, raw.driver_connection)
        cur = db.cursor()
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1048576"):
            cur.execute(f"PRAGMA {pragma}")
        cur.execute("BEGIN")
        sql = f"INSERT INTO graph_adjacency VALUES ('{WS}', ?, ?, ?, ?)"
        for lo in range(0, arrays[0].size, CHUNK):
            cur.executemany(sql, _columns(g, arrays, lo, lo + CHUNK))
        kinds = (name.partition(":")[0] for name in g.names)
        cur.executemany(
            f"INSERT INTO graph_nodes VALUES ('{WS}', ?, ?, NULL, '{{}}', 0, 0)",
            zip(g.names, kinds, strict=True),
        )
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA cache_size=-65536")
    finally:
        raw.close()
    return int(arrays[0].size)


def _copy_text(g: Synthetic, arrays: Arrays, lo: int, hi: int) -> str:
    rows = _columns(g, arrays, lo, hi)
    return "".join([f"{WS}\t{a}\t{b}\t{c!r}\t{d}\n" for a, b, c, d in rows])


def load_postgres(engine: Engine, g: Synthetic, arrays: Arrays) -> int:
    """COPY the adjacency rows and nodes; the key is built after the load, then VACUUM ANALYZE.

    A writer thread sends each chunk while Python formats the next (the server parses on the
    other core). The key is then built by a parallel index build with 1 GiB of sort memory
    (the default 64 MiB spills the sort of millions of keys to disk).
    """
    raw = engine.raw_connection()
    try:
        pg = cast(psycopg.Connection[Any], raw.driver_connection)
        cur = pg.cursor()
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("ALTER TABLE graph_adjacency DROP CONSTRAINT graph_adjacency_pkey")
        sql = "COPY graph_adjacency FROM STDIN"
        with cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:
            for lo in range(0, arrays[0].size, CHUNK // 4):
                copy.write(_copy_text(g, arrays, lo, lo + CHUNK // 4))
        cols = "workspace_id, node, type, neg_weight, other"
        cur.execute(
            f"ALTER TABLE graph_adjacency ADD CONSTRAINT graph_adjacency_pkey PRIMARY KEY ({cols})"
        )
        with cur.copy("COPY graph_nodes FROM STDIN") as copy:
            copy.write(
                "".join([f"{WS}\t{x}\t{x.partition(':')[0]}\t\\N\t{{}}\t0\t0\n" for x in g.names])
            )
        pg.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE graph_adjacency"))
        conn.execute(text("VACUUM ANALYZE graph_nodes"))
    return int(arrays[0].size)
