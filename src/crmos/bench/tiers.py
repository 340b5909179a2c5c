"""``crmos bench tiers``: hot SQL against warm/cold Parquet, on the embedded store.

10,000,000 events (1,000,000 with ``--quick``) of one workspace, received evenly over the last
60 days by 200,000 people, are appended to the hot log (the intake's own insert), then:

- **bytes_per_event_hot**: growth of the SQLite file (after a checkpoint) per event;
  **bytes_per_event_warm** / **_cold**: Parquet bytes per event in each tier;
- **history_query_p95_ms**: a person's history (``user_id``, up to 100 events) through
  :class:`crmos.store.EventLog`, once with every event hot (**history_query_p95_ms_hot_only**,
  the reference) and again across the tiers; **log_page_p95_ms** (and ``_hot_only``) the same
  for a page of 100 events of the workspace's log after a random ``seq``;
- **move_events_per_s**: events moved hot -> warm per second (write, fsync, read back, verify,
  list, delete), beside **parquet_write_per_s**, a bare ``pyarrow`` write of the same rows;
  **compact_events_per_s**: warm -> cold;
- **erasure_s**: a DSR erasure of one person (intake events in hot, older events in warm and
  cold files, personal fields sealed with their key) to the finished proof report, whose scan
  reads every Parquet file.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from crmos.bootstrap import Container, build
from crmos.core.clock import now_ms
from crmos.core.settings import Settings
from crmos.store import EventQuery, flush_deleted, set_offset, tier_file_urls

console = Console()
DAY_MS = 86_400_000
SPAN_DAYS = 60
PEOPLE = 200_000
CHUNK = 50_000
PERSON = "hans-42"
EMAIL = "hans.mueller@example.de"
PERSON_DAYS = (50, 45, 20, 10, 5)  # days ago: two in cold, three in warm


def run(quick: bool = False, as_json: bool = False) -> dict[str, Any]:
    """Run the benchmark; print a table (and with ``as_json`` a last line of JSON)."""
    total = 1_000_000 if quick else 10_000_000
    with tempfile.TemporaryDirectory(prefix="crmos-bench-tiers-") as tmp:
        settings = Settings(home=Path(tmp) / "home", tiers={"enabled": False})
        container = build(settings, migrate_store=True)
        try:
            figures = _measure(container, total)
        finally:
            container.close()
    _report(figures)
    if as_json:
        print(json.dumps(figures))  # noqa: T201 - the machine-readable last line
    return figures


def _measure(container: Container, total: int) -> dict[str, Any]:
    ws = container.workspaces.create("bench")[0].id
    size_before = _db_bytes(container)
    started = time.perf_counter()
    _append(container, ws, total)
    figures: dict[str, Any] = {"events": total, "append_s": round(time.perf_counter() - started, 1)}
    figures["bytes_per_event_hot"] = round((_db_bytes(container) - size_before) / total, 1)
    _person_in_hot(container, ws)  # received now: stays hot
    _consumed(container)
    people, pages = _queries(container, ws, 50 if total < 5_000_000 else 100)
    figures["history_query_p95_ms_hot_only"] = _p95(container, people)
    figures["log_page_p95_ms_hot_only"] = _p95(container, pages)
    figures |= _move(container)
    figures["history_query_p95_ms"] = _p95(container, people)
    figures["log_page_p95_ms"] = _p95(container, pages)
    status = container.tiers.status()["tiers"]
    for tier in ("warm", "cold"):
        if status[tier]["events"]:
            ratio = status[tier]["bytes"] / status[tier]["events"]
            figures[f"bytes_per_event_{tier}"] = round(ratio, 1)
        figures[f"events_{tier}"] = status[tier]["events"]
    figures["events_hot"] = status["hot"]["events"]
    figures |= _erasure(container, ws)
    return figures


def _person_in_hot(container: Container, ws: str) -> None:
    traits = {"email": EMAIL, "name": "Hans Müller", "country": "DE"}
    lines = [orjson.dumps({"type": "identify", "userId": PERSON, "traits": traits})]
    lines += [orjson.dumps({"type": "track", "userId": PERSON, "event": "Viewed"})] * 3
    for report in container.ingest().ingest_lines(ws, "bench", lines):
        assert not report.problems, report.problems[:3]


def _append(container: Container, ws: str, total: int) -> None:
    """``total`` events received evenly over ``SPAN_DAYS`` (the person's on a few days)."""
    with container.engine.begin() as conn:
        keys, _ = container.vault.keys_for(conn, ws, [f"user:{PERSON}"])
    key = keys[f"user:{PERSON}"]
    start = now_ms() - SPAN_DAYS * DAY_MS
    step = SPAN_DAYS * DAY_MS / total
    person_at = {int(total * (1 - d / SPAN_DAYS)) for d in PERSON_DAYS}
    rng = random.Random(7)
    for first in range(0, total, CHUNK):
        rows = []
        for i in range(first, min(first + CHUNK, total)):
            mine = any(p <= i < p + 20 for p in person_at)
            user = PERSON if mine else f"u{rng.randrange(PEOPLE)}"
            at = int(start + i * step)
            rows.append(_row(ws, i, user, at, key if mine else None, rng))
        with container.engine.begin() as conn:
            container.log.insert_new(conn, rows)


def _row(ws: str, i: int, user: str, at: int, key: Any, rng: random.Random) -> tuple[Any, ...]:
    message_id = f"m{i}"
    name = rng.choice(("Viewed Pricing", "Added to Cart", "Order Completed", "Viewed Docs"))
    body = orjson.dumps(
        {
            "type": "track",
            "event": name,
            "userId": user,
            "messageId": message_id,
            "properties": {"path": f"/p/{rng.randrange(500)}", "revenue": rng.randrange(900)},
            "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
            "timestamp": f"{at}",
        }
    ).decode()
    pii, key_id = None, None
    if key is not None:
        secret = orjson.dumps({"properties.email": EMAIL})
        pii, key_id = key.seal(secret, f"{ws}/{message_id}".encode()), key.key_id
    elif i % 5 == 0:  # a fifth of events carry sealed personal fields (60 bytes)
        pii, key_id = os.urandom(60), "dk_bench"
    tags = '{"touchpoint":"web","intent":"browse"}'
    return (ws, message_id, "track", user, None, name, at, at, "web", body, key_id, pii, tags)


def _consumed(container: Container) -> None:
    """Mark every stream consumer as having handled the whole log: the stream itself is not
    part of these figures, and a move takes only what every consumer handled."""
    top = container.tiers.status()["tiers"]["hot"]["newest_seq"]
    with container.engine.begin() as conn:
        for name in container.tiers.consumers:
            set_offset(conn, name, int(top))


def _db_bytes(container: Container) -> int:
    """Bytes of the SQLite file in use (pages less free pages), after a checkpoint."""
    flush_deleted(container.engine)
    with container.engine.connect() as conn:
        page = conn.execute(text("PRAGMA page_size")).scalar_one()
        count = conn.execute(text("PRAGMA page_count")).scalar_one()
        free = conn.execute(text("PRAGMA freelist_count")).scalar_one()
    return int(page) * (int(count) - int(free))


def _queries(
    container: Container, ws: str, count: int
) -> tuple[list[EventQuery], list[EventQuery]]:
    """``count`` people's histories (100 events each) and ``count`` pages of the log."""
    top = int(container.tiers.status()["tiers"]["hot"]["newest_seq"])
    rng = random.Random(11)
    people = [EventQuery(ws, user_id=f"u{rng.randrange(PEOPLE)}", limit=100) for _ in range(count)]
    pages = [EventQuery(ws, after_seq=rng.randrange(top), limit=100) for _ in range(count)]
    return people, pages


def _p95(container: Container, queries: list[EventQuery]) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        container.log.read(query)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.quantiles(times, n=20)[18], 2)


def _move(container: Container) -> dict[str, Any]:
    tiers = container.tiers
    moved, started = 0, time.perf_counter()
    while (n := tiers.move_once()) > 0:
        moved += n
    move_s = time.perf_counter() - started
    started = time.perf_counter()
    compacted_files = tiers.compact()
    compact_s = time.perf_counter() - started
    cold = container.tiers.status()["tiers"]["cold"]["events"]
    return {
        "move_events_per_s": round(moved / move_s) if move_s else 0,
        "parquet_write_per_s": _bare_write(container),
        "compact_events_per_s": round(cold / compact_s) if compact_s and compacted_files else 0,
    }


def _bare_write(container: Container) -> int:
    """The reference: pyarrow writing the rows of a warm file, already in memory, as zstd
    Parquet to memory (no verification, no database, no disk)."""
    with container.engine.connect() as conn:
        urls = tier_file_urls(conn)
    if not urls:
        return 0
    biggest = max(urls, key=lambda u: pq.ParquetFile(u).metadata.num_rows)
    table = pq.read_table(biggest)
    started = time.perf_counter()
    pq.write_table(table, io.BytesIO(), compression="zstd")
    rows: int = table.num_rows
    return round(rows / (time.perf_counter() - started))


def _erasure(container: Container, ws: str) -> dict[str, Any]:
    dsr = container.compliance.dsr
    started = time.perf_counter()
    done = dsr.run(ws, dsr.receive(ws, "erasure", ("user_id", PERSON), "bench", "bench").id)
    erasure_s = time.perf_counter() - started
    report = done.report or {}
    left = container.log.read(EventQuery(ws, user_id=PERSON, limit=10))
    return {
        "erasure_s": round(erasure_s, 2),
        "erasure_status": done.status,
        "erasure_readable_copies": (report.get("verification") or {}).get("readable_copies"),
        "person_events_left": len(left),
    }


def _report(figures: dict[str, Any]) -> None:
    table = Table("figure", "value", title="tiers")
    for name, value in figures.items():
        table.add_row(name, f"{value:,}" if isinstance(value, int | float) else str(value))
    console.print(table)
