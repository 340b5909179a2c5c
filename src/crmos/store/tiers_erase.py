"""Erasure in the warm and cold tiers, and the scan of their files.

The personal fields of every event (``pii``) are sealed with the person's data key in the
files as in hot, so destroying the key (crypto-shredding, done first by compliance) makes them
unreadable at once. :class:`TiersEraser` then, in the erasure's transaction, records the
erasure (identifier digests only; readers hide the person's rows from then on) and rewrites
each file holding the person in place without them, swapping the file's manifest row. Should
the rewrite fail (storage unreachable), the record stays open and every tiers round
(:func:`rewrite_pending`) tries again, well within a request's deadline.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, delete, select, update

from crmos.core.clock import now_ms
from crmos.core.datamap import DataMap, Erased, Holding, Person
from crmos.core.errors import StoreError
from crmos.core.ids import new_id
from crmos.core.logsafe import get_logger
from crmos.store.dialect import begin_write
from crmos.store.tables_tiers import tier_erasures, tier_files
from crmos.store.tiers_bloom import may_hold, people_filter
from crmos.store.tiers_files import COLUMNS, SCHEMA, write_at
from crmos.store.tiers_read import _duck, in_list

log = get_logger(__name__)

TIERS = DataMap(
    room="tiers",
    holdings=(
        Holding(
            "file",
            "tier_files",
            ("user_id", "anonymous_id", "body", "pii"),
            "user or anonymous id, or the person's event seqs",
            "delete",
        ),
    ),
    note="tier_files lists the warm and cold Parquet files. Events moved out of hot keep "
    "their personal fields sealed with the person's data key (shredded first); the files "
    "are rewritten without the person's rows.",
)

_BY_DIGEST = (
    "(coalesce(sha256(user_id) IN (SELECT unnest($digests)), FALSE)"
    " OR coalesce(sha256(anonymous_id) IN (SELECT unnest($digests)), FALSE)"
    " OR seq IN (SELECT unnest($seqs)))"
)


def digests_of(values: Sequence[str]) -> list[str]:
    """SHA-256 hex digests of identifiers (what ``tier_erasures`` keeps instead of them)."""
    return sorted({hashlib.sha256(v.encode()).hexdigest() for v in values})


class TiersEraser:
    """Forgets a person in the warm and cold files (see the module docstring)."""

    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self._clock = clock

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Record the erasure, then rewrite the files that hold the person."""
        digests = digests_of([*person.user_ids, *person.anonymous_ids])
        seqs = sorted(set(person.seqs))
        erasure_id = new_id("te_")
        conn.execute(
            tier_erasures.insert().values(
                id=erasure_id,
                workspace_id=person.workspace_id,
                digests=json.dumps(digests),
                seqs=json.dumps(seqs),
                requested_ms=self._clock(),
                done_ms=None,
                files_rewritten=0,
            )
        )
        users, by_user = in_list("user_id", "u", person.user_ids)
        anons, by_anon = in_list("anonymous_id", "a", person.anonymous_ids)
        match = f"({users} OR {anons} OR seq IN (SELECT unnest($seqs)))"
        try:
            with conn.begin_nested():
                args = {"seqs": seqs, **by_user, **by_anon}
                people = [*person.user_ids, *person.anonymous_ids]
                count = _rewrite(conn, person.workspace_id, match, args, people)
                _close(conn, erasure_id, count, self._clock())
        except Exception as exc:
            log.warning("tier files of erasure %s not rewritten yet: %s", erasure_id, type(exc))
            why = "warm/cold files: rewrite pending, retried by every tiers round"
            return Erased({"tier_files": 0}, (why,))
        return Erased({"tier_files": count})


def rewrite_pending(engine: Engine, clock: Callable[[], int] = now_ms) -> int:
    """Finish every open tier erasure; returns how many files were rewritten (the manifest
    holds each file's full location, so no root is needed)."""
    with engine.connect() as conn:
        e = tier_erasures.c
        open_ = conn.execute(select(tier_erasures).where(e.done_ms.is_(None))).all()
    total = 0
    for row in open_:
        with engine.begin() as conn:
            begin_write(conn)
            args = {"digests": json.loads(row.digests), "seqs": json.loads(row.seqs)}
            count = _rewrite(conn, row.workspace_id, _BY_DIGEST, args)
            _close(conn, row.id, count, clock())
        total += count
    return total


def _close(conn: Connection, erasure_id: str, count: int, at: int) -> None:
    """Mark the erasure done and drop its digests: nothing about the person stays here."""
    conn.execute(
        update(tier_erasures)
        .where(tier_erasures.c.id == erasure_id)
        .values(done_ms=at, files_rewritten=count, digests="[]", seqs="[]")
    )


def _rewrite(
    conn: Connection,
    workspace_id: str,
    match: str,
    args: dict[str, Any],
    people: Sequence[str] | None = None,
) -> int:
    """Rewrite, in place, each listed file of the workspace holding rows ``match`` selects
    (a DuckDB condition over ``args``). With ``people`` (the ids in clear), only files whose
    filter may hold one of them, or whose seq range covers one of ``args['seqs']``, are read."""
    f = tier_files.c
    listed = conn.execute(select(tier_files).where(f.workspace_id == workspace_id)).all()
    if people is not None:
        seqs = args["seqs"]
        listed = [
            r
            for r in listed
            if may_hold(r.people, people) or any(r.seq_lo <= q <= r.seq_hi for q in seqs)
        ]
    if not listed:
        return 0
    urls = [r.url for r in listed]
    cursor = _duck.cursor(urls)
    try:
        hit = {
            str(u)
            for (u,) in cursor.execute(
                f"SELECT DISTINCT filename FROM read_parquet($files, filename = true) "
                f"WHERE {match}",
                {**args, "files": urls},
            ).fetchall()
        }
    finally:
        cursor.close()
    by_url = {r.url: r for r in listed}
    for url in sorted(hit):
        _rewrite_file(conn, by_url.get(url) or by_url[_same_file(url, by_url)], match, args)
    return len(hit)


def _same_file(name: str, listed: dict[str, Any]) -> str:
    """The listed location DuckDB reported as ``name`` (it may drop an fsspec prefix)."""
    return next(u for u in listed if u.endswith(name.split("://", 1)[-1]))


def _rewrite_file(conn: Connection, row: Any, match: str, args: dict[str, Any]) -> None:
    cursor = _duck.cursor([row.url])
    try:
        kept: pa.Table = cursor.sql(
            # coalesce: a NULL id makes the match NULL, and NOT NULL would drop the row too.
            f"SELECT {', '.join(COLUMNS)} FROM read_parquet($file) "
            f"WHERE NOT coalesce({match}, FALSE)",
            params={**args, "file": row.url},
        ).to_arrow_table()
    finally:
        cursor.close()
    # A new id: a compaction that read the old content finds its input gone and retries.
    gone = conn.execute(delete(tier_files).where(tier_files.c.id == row.id)).rowcount
    if gone != 1:
        raise StoreError("tiers", f"file {row.url} changed during the erasure; retried later")
    # Replaced in place (an emptied file stays, listed with no rows, until compaction): the
    # manifest never lists a location that does not exist, even if this transaction rolls back.
    done = write_at(row.url, kept.cast(SCHEMA))
    same = ("tier", "workspace_id", "period", "url", "seq_lo", "seq_hi", "ts_lo", "ts_hi")
    conn.execute(
        tier_files.insert().values(
            {
                **{c: getattr(row, c) for c in (*same, "received_hi")},
                "id": new_id("tf_"),
                "rows": done.rows,
                "bytes": done.bytes,
                "checksum": done.checksum,
                "people": people_filter(kept),
                "created_ms": now_ms(),
            }
        )
    )


def scan_parquet(urls: Sequence[str], needles: Sequence[str]) -> list[tuple[str, int]]:
    """Rows per file holding any needle (case-insensitive) in any text column: the erasure
    proof's look into the tiers' files, which are compressed and so not searchable as bytes."""
    if not urls or not needles:
        return []
    text = [n for n, t in zip(SCHEMA.names, SCHEMA.types, strict=True) if pa.types.is_string(t)]
    # One pass per column: a case-insensitive alternation of every needle (RE2).
    pattern = "(?i)(" + "|".join(re.escape(n) for n in needles) + ")"
    holds = " OR ".join(f"regexp_matches(coalesce({c}, ''), $pattern)" for c in text)
    params = {"pattern": pattern}
    found: list[tuple[str, int]] = []
    cursor = _duck.cursor(list(urls))
    try:
        for url in urls:
            count = cursor.execute(
                f"SELECT count(*) FROM read_parquet($file) WHERE {holds}", {**params, "file": url}
            ).fetchone()
            if count and count[0]:
                found.append((url, int(count[0])))
    finally:
        cursor.close()
    return found
