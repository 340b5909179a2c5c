"""``crmos bench identity``: identity quality, stitching throughput and merge latency.

- **quality** (``crmos.bench.identity_quality``): the demo world over a grid of seeds and
  world clocks (each world's ``now`` pinned, so every figure can be reproduced from the seed
  and clock printed), through intake, the stitcher and batch matching, scored pairwise on
  ground truth: precision, ``recall_identifiable`` (pairs whose records share an attribute
  beyond the full name), ``recall_all`` and the count of unidentifiable pairs, each as min
  and mean over the grid. Reference: stitching alone, and the bound of linking every pair of
  identifiers seen in one event.
- **throughput**: synthetic identify events (userId, one of two devices, e-mail, phone, traits;
  each person seen about eight times) through the stitcher in batches of 500, one transaction
  each, as the event stream runs it: each batch is made just before it is handed over, as the
  stream decodes it, and only handling and committing it are timed. Reference: the rows it
  wrote, inserted bare (the same driver ``executemany``, same batches, tables and indexes, one
  commit per batch) into a fresh store: what the writes alone cost, without reading,
  normalising or planning.
- **merge visible**: intake commits an event linking two existing profiles while the stream
  runs in a thread; the time until the merged profile is readable from another connection.
  Reference: the same for an event that only creates a profile.

The batch-matching figures (Febrl4, 100k dedupe) come from ``crmos.bench.identity_febrl``.
"""

from __future__ import annotations

import gc
import importlib.util
import itertools
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from crmos.bench.identity_quality import fresh_store, grid, names_gain
from crmos.bootstrap import Container
from crmos.core.event import Event
from crmos.identity import (
    IdentityRows,
    Stitcher,
    profile_of,
    read_rows,
    write_rows,
)
from crmos.identity.claims import Key
from crmos.ingest import IngestService, StreamRunner

BATCH = 500
TARGETS = {
    "precision_min": 0.995,
    "recall_identifiable_min": 0.98,
    "stitch_events_per_s": 25_000.0,
    "merge_visible_p99_ms": 50.0,
}
console = Console()
status = Console(stderr=True)


def stitch_only(c: Container) -> StreamRunner:
    """A stream runner feeding only the identity stitcher."""
    return StreamRunner(c.engine, c.log, c.reader, [Stitcher(c.settings.identity)])


# --------------------------------------------------------------------------------------------
# Throughput.
# --------------------------------------------------------------------------------------------


def identify_events(workspace_id: str, n: int, seed: int = 7) -> Iterator[Event]:
    """``n`` identify events of ``n // 8`` people, in log order."""
    rng = random.Random(seed)
    people = max(10, n // 8)
    start = datetime.now(UTC) - timedelta(days=1)
    for seq in range(1, n + 1):
        who = rng.randrange(people)
        traits = {
            "email": f"person{who}@example.com",
            "phone": f"+49151{who:08d}",
            "name": f"Person {who}",
            "plan": ("free", "team", "business")[who % 3 if rng.random() < 0.9 else seq % 3],
        }
        at = start + timedelta(milliseconds=seq)
        body = {"type": "identify", "traits": traits, "context": {"device": {"id": f"d{who}"}}}
        anon = f"anon-{who}-{rng.randrange(2)}"
        yield Event(
            workspace_id, f"m{seq}", "identify", f"u{who}", anon, None, at, at, "app", body, seq
        )


def throughput(n: int) -> dict[str, Any]:
    """Stitched events per second, and the bare insert of the same rows.

    Each batch is made just before it is handed over, as the stream decodes a batch of the log
    just before its consumers get it; only handling and committing it is timed.
    """
    with fresh_store("stitch") as c:
        ws = c.workspaces.create("bench")[0].id
        events = identify_events(ws, n)
        stitcher = Stitcher(c.settings.identity)
        seconds = 0.0
        # ``crmos serve`` keeps what it built at start-up out of the collector's full passes
        # (cli.serve._tune_interpreter); so does this process, or each full pass would walk
        # every module, Splink's and DuckDB's included.
        gc.collect()
        gc.freeze()
        try:
            while batch := list(itertools.islice(events, BATCH)):
                t0 = time.perf_counter()
                with c.engine.begin() as conn:
                    stitcher.handle(conn, batch)
                seconds += time.perf_counter() - t0
        finally:
            gc.unfreeze()
        with fresh_store("ceiling") as bare:
            ceiling = _bare_insert(c.engine, bare.engine, n)
    return {
        "stitch_events_per_s": round(n / seconds),
        "stitch_ceiling_events_per_s": round(n / ceiling),
        "stitch_vs_ceiling": round(ceiling / seconds, 3),
        "stitch_events": n,
    }


def _bare_insert(source: Engine, target: Engine, n: int) -> float:
    """Seconds to insert the stitcher's rows into ``target``, batch by batch, bare."""
    with source.connect() as conn:
        stored = read_rows(conn)
    groups = [IdentityRows() for _ in range(0, n, BATCH)]
    born: dict[str, int] = {}
    for row in stored.identifiers:
        seq = row["seq"] or 1
        groups[(seq - 1) // BATCH].identifiers.append(row)
        born[row["profile_id"]] = min(seq, born.get(row["profile_id"], seq))
    for row in stored.events:
        groups[(row["seq"] - 1) // BATCH].events.append(row)
    for row in stored.profiles:
        groups[(born.get(row["id"], 1) - 1) // BATCH].profiles.append(row)
    seconds = 0.0
    for part in groups:
        t0 = time.perf_counter()
        with target.begin() as conn:
            write_rows(conn, part)
        seconds += time.perf_counter() - t0
    return seconds


# --------------------------------------------------------------------------------------------
# Merge-visible latency.
# --------------------------------------------------------------------------------------------


def latency(samples: int) -> dict[str, Any]:
    """Milliseconds from intake's commit to the merged (or new) profile being readable."""
    with fresh_store("latency") as c:
        ws = c.workspaces.create("bench")[0].id
        runner = stitch_only(c)
        intake = IngestService(c.settings.intake, c.writer, None, on_commit=runner.notify)
        runner.start()
        try:
            merged, created = [], []
            for i in range(samples):
                anon = ("anonymous_id", f"a{i}")
                created.append(_visible(c, intake, ws, {"anonymousId": f"a{i}"}, anon)[0])
                user = _visible(c, intake, ws, {"userId": f"u{i}"}, ("user_id", f"u{i}"))[1]
                link = {"userId": f"u{i}", "anonymousId": f"a{i}"}
                merged.append(_visible(c, intake, ws, link, anon, expect=user)[0])
        finally:
            runner.close()
    return {
        "merge_visible_p50_ms": _quantile(merged, 0.5),
        "merge_visible_p99_ms": _quantile(merged, 0.99),
        "new_profile_visible_p99_ms": _quantile(created, 0.99),
        "latency_samples": samples,
    }


def _visible(
    c: Container,
    intake: IngestService,
    ws: str,
    ids: dict[str, str],
    key: Key,
    expect: str | None = None,
) -> tuple[float, str]:
    """Ingest one identify call; ms until ``key`` resolves (to ``expect``, if given)."""
    line = orjson.dumps({"type": "identify", **ids})
    for _ in intake.ingest_lines(ws, "bench", [line]):
        pass
    committed = time.perf_counter()
    deadline = committed + 10
    with c.engine.connect() as conn:
        while time.perf_counter() < deadline:
            found = profile_of(conn, ws, *key)
            if found is not None and (expect is None or found == expect):
                return (time.perf_counter() - committed) * 1000, found
            conn.rollback()  # a fresh snapshot for the next look
            time.sleep(0.0005)
    raise TimeoutError(f"profile of {key} not visible within 10 s")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# --------------------------------------------------------------------------------------------
# The run.
# --------------------------------------------------------------------------------------------


def matching_figures(quick: bool) -> dict[str, Any]:
    """Batch-matching figures from ``crmos.bench.identity_febrl``, when that module exists."""
    if importlib.util.find_spec("crmos.bench.identity_febrl") is None:
        return {}
    from crmos.bench.identity_febrl import febrl4_figures

    figures: dict[str, Any] = febrl4_figures(quick)
    return figures


def render(figures: dict[str, Any]) -> Table:
    """The readable table: each figure, its reference and its target."""
    table = Table(title="crmos bench identity")
    for name in ("figure", "value", "reference", "target", "met?"):
        table.add_column(name, justify="right" if name in ("value", "reference") else "left")
    rows = [
        ("precision, min over the grid", "precision_min", "precision_mean", ">= 0.995", ">="),
        (
            "recall of identifiable pairs, min",
            "recall_identifiable_min",
            "recall_identifiable_mean",
            ">= 0.98",
            ">=",
        ),
        ("recall of all pairs, min", "recall_all_min", "recall_all_mean", "(mean beside)", ""),
        ("unidentifiable pairs (all worlds)", "unidentifiable_pairs", "true_pairs", "", ""),
        ("recall, stitching alone, min", "stitch_recall_min", "recall_bound_min", "(bound)", ""),
        (
            "stitch events/s",
            "stitch_events_per_s",
            "stitch_ceiling_events_per_s",
            ">= 25,000",
            ">=",
        ),
        ("merge visible p99 ms", "merge_visible_p99_ms", "new_profile_visible_p99_ms", "< 50", "<"),
        ("merge visible p50 ms", "merge_visible_p50_ms", None, "", ""),
    ]
    for label, key, ref, target, op in rows:
        value = figures.get(key)
        met = ""
        if op and value is not None:
            goal = TARGETS[key]
            ok = value >= goal if op == ">=" else value < goal
            met = "[green]yes[/]" if ok else "[red]no[/]"
        table.add_row(label, _fmt(value), _fmt(figures.get(ref)) if ref else "", target, met)
    if "worst_seed" in figures:
        worst = f"seed {figures['worst_seed']}, clock {figures['worst_clock']}"
        table.add_row("worst world (rerun it)", worst, "", "", "")
    for key, value in figures.items():
        if key.startswith(("febrl4_", "splink_", "dedupe_", "names_", "duckdb_", "spark_")):
            table.add_row(key, _fmt(value), "", "", "")
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def run(quick: bool, as_json: bool, engines_records: int = 0, names: bool = False) -> None:
    """Run the benchmark; print the table (and with ``as_json`` the JSON object last).

    ``engines_records``: also deduplicate that many records on DuckDB and on Spark.
    ``names``: also measure each first-name level's gain (``identity_quality.names_gain``).
    """
    figures: dict[str, Any] = {}
    status.print("[dim]quality: demo worlds through intake, the stitcher and batch matching[/]")
    say = lambda line: status.print(f"[dim]  {line}[/]")  # noqa: E731 - a one-line printer
    figures.update(grid(quick, say=say))
    if names:
        figures.update(names_gain(quick, say=say))
    n = 60_000 if quick else 400_000
    status.print(f"[dim]throughput: {n:,} identify events, and the bare insert of their rows[/]")
    figures.update(throughput(n))
    samples = 100 if quick else 500
    status.print(f"[dim]latency: {samples} linking events while the stream runs[/]")
    figures.update(latency(samples))
    figures.update(matching_figures(quick))
    if engines_records:
        from crmos.bench.identity_spark import dedupe_engines

        status.print(f"[dim]dedupe {engines_records:,} records on DuckDB and on Spark[/]")
        figures.update(dedupe_engines(engines_records))
    console.print(render(figures))
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")
