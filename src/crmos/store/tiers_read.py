"""Reading the warm and cold tiers: the manifest names the files, DuckDB reads them.

The event log's readers (:class:`crmos.store.EventLog`) call these after reading hot, so a
caller sees one history. Rows come back as :class:`HistoryRow`, with the attribute names of a
row of the ``events`` table. Rows of a person whose erasure has not yet rewritten the files
are hidden at once (their identifiers' digests are in ``tier_erasures``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import duckdb
import fsspec
from sqlalchemy import Connection, select
from sqlalchemy.sql.elements import ColumnElement

from crmos.core.errors import StoreError
from crmos.store.tables_tiers import tier_erasures, tier_files
from crmos.store.tiers_bloom import may_hold
from crmos.store.tiers_files import COLUMNS

_RETRIES = 3  # a file may be replaced (compaction, an erasure) between manifest and read


class HistoryRow(NamedTuple):
    """An event read from a warm or cold file (the columns of the ``events`` table)."""

    seq: int
    workspace_id: str
    message_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    name: str | None
    ts_ms: int
    received_ms: int
    touchpoint: str
    body: str
    key_id: str | None
    pii: bytes | None
    tags: str | None


assert HistoryRow._fields == COLUMNS, "HistoryRow is stale"


class _DuckDB:
    """One in-process DuckDB database; each query runs on its own cursor (thread-safe)."""

    def __init__(self) -> None:
        self._db = duckdb.connect()
        self._protocols: set[str] = set()
        self._lock = threading.Lock()

    def cursor(self, urls: Sequence[str]) -> duckdb.DuckDBPyConnection:
        for url in urls:
            protocol = url.split("://", 1)[0] if "://" in url else ""
            if protocol and protocol not in self._protocols:
                with self._lock:
                    # Object stores are read through fsspec, so no DuckDB extension is fetched.
                    self._db.register_filesystem(fsspec.filesystem(protocol))
                    self._protocols.add(protocol)
        return self._db.cursor()


_duck = _DuckDB()


def files_of(
    conn: Connection,
    workspace_id: str | None,
    *where: ColumnElement[bool],
    people: Sequence[str] = (),
) -> list[str]:
    """The listed files (of ``workspace_id``, or of every workspace) matching ``where``; with
    ``people``, only those whose Bloom filter may hold one of these user/anonymous ids."""
    f = tier_files.c
    stmt = select(f.url, f.people).where(*where).order_by(f.seq_lo)
    if workspace_id is not None:
        stmt = stmt.where(f.workspace_id == workspace_id)
    rows = conn.execute(stmt).all()
    return [r.url for r in rows if not people or may_hold(r.people, people)]


def in_list(column: str, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``column IN (...)`` with one named parameter per value (``FALSE`` for none): constants
    once bound, so DuckDB checks them against each row group's statistics and skips groups."""
    if not values:
        return "FALSE", {}
    names = {f"{name}{i}": v for i, v in enumerate(values)}
    return f"{column} IN ({', '.join('$' + n for n in names)})", names


def tier_file_urls(conn: Connection) -> list[str]:
    """Every file the manifest lists, of every workspace (what an erasure proof reads)."""
    return files_of(conn, None)


def hidden_digests(conn: Connection, workspace_id: str | None) -> list[str]:
    """Identifier digests of erasures whose files are not rewritten yet (rows to hide)."""
    e = tier_erasures.c
    stmt = select(e.digests).where(e.done_ms.is_(None))
    if workspace_id is not None:
        stmt = stmt.where(e.workspace_id == workspace_id)
    return [d for text in conn.execute(stmt).scalars() for d in json.loads(text)]


def query_files(
    conn: Connection,
    workspace_id: str | None,
    pick: Callable[[Connection], list[str]],
    where: str = "TRUE",
    params: dict[str, Any] | None = None,
    *,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[HistoryRow]:
    """Rows of the files ``pick`` lists matching the DuckDB condition ``where`` (named
    ``$params``), in seq order. When a file was replaced between the manifest and the read (a
    compaction, an erasure's rewrite), ``pick`` reads the manifest again."""
    files = pick(conn)
    if not files:
        return []
    hide = hidden_digests(conn, workspace_id)
    sql = f"SELECT {', '.join(COLUMNS)} FROM read_parquet($files) WHERE ({where})"
    args = dict(params or {})
    if hide:
        sql += (
            " AND NOT (coalesce(sha256(user_id) IN (SELECT unnest($hide)), FALSE)"
            " OR coalesce(sha256(anonymous_id) IN (SELECT unnest($hide)), FALSE))"
        )
        args["hide"] = hide
    sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    for attempt in range(_RETRIES):
        try:
            cursor = _duck.cursor(files)
            try:
                found = cursor.execute(sql, {**args, "files": files}).fetchall()
            finally:
                cursor.close()
            return [HistoryRow(*r) for r in found]
        except duckdb.IOException as exc:
            if attempt == _RETRIES - 1:
                raise StoreError("tiers", f"could not read the tier files: {exc}") from exc
            files = pick(conn)
            if not files:
                return []
    return []  # pragma: no cover - the loop returns or raises


def merge(
    hot: Sequence[Any], warm: Sequence[Any], newest_first: bool, limit: int | None
) -> list[Any]:
    """Hot and warm rows as one list in seq order, each seq once (a row read from hot just
    before its move committed is also in the file read after)."""
    seen: dict[int, Any] = {}
    for row in (*warm, *hot):
        seen.setdefault(row.seq, row)
    ordered = sorted(seen.values(), key=lambda r: r.seq, reverse=newest_first)
    return ordered if limit is None else ordered[:limit]
