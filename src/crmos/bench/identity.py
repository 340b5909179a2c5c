"""``crmos bench identity``: real-time stitching quality, throughput and merge latency.

- **quality**: the demo world (``crmos.demo.generate()``) goes through intake and the stitcher
  on a fresh SQLite store, then through batch matching (``crmos identity match``: pairs above
  the auto threshold merge, review-band pairs stay apart); every stored identifier is scored
  against the world's ground truth, pairwise (two identifiers of one person in one profile is
  a true pair). The reference is stitching alone, and its **bound**: the recall of linking
  every pair of identifiers that ever appear in one event (their union-find closure, limits
  and account guards ignored), which no real-time stitcher can exceed. Identifiers several
  people share (scenario 6's switchboard) are not scored.
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
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from crmos.bootstrap import Container, build
from crmos.core.event import Event
from crmos.core.settings import IdentitySettings, Settings
from crmos.demo import World, generate
from crmos.identity import (
    IdentityRows,
    Stitcher,
    identifier_owners,
    profile_of,
    read_rows,
    write_rows,
)
from crmos.identity.claims import Key, Normaliser, claim_of
from crmos.identity.identifiers import normalise
from crmos.identity.matching import match_workspace
from crmos.identity.policy import build_policy
from crmos.ingest import IngestService, StreamRunner

BATCH = 500
TARGETS = {
    "precision": 0.995,
    "recall": 0.98,
    "stitch_events_per_s": 25_000.0,
    "merge_visible_p99_ms": 50.0,
}
# Ground-truth identifier kinds -> the identifier types crmos stores them as.
_TRUTH_TYPES = {
    "email": ("email",),
    "phone": ("phone",),
    "wechat_openid": ("wechat_openid", "anonymous_id"),
    "app_user_id": ("user_id",),
    "device_id": ("device_id", "anonymous_id"),
    "pos_member_id": ("pos_member_id", "user_id"),
    "web_anonymous_id": ("anonymous_id",),
}

console = Console()
status = Console(stderr=True)


@contextmanager
def fresh_store(label: str) -> Iterator[Container]:
    """A migrated container on a new SQLite store in a temp directory."""
    with tempfile.TemporaryDirectory(prefix=f"crmos-bench-{label}-") as tmp:
        settings = Settings(home=Path(tmp), store={"url": f"sqlite:///{tmp}/crmos.db"})
        container = build(settings, migrate_store=True)
        try:
            yield container
        finally:
            container.close()


def stitch_only(c: Container) -> StreamRunner:
    """A stream runner feeding only the identity stitcher."""
    return StreamRunner(c.engine, c.log, c.reader, [Stitcher(c.settings.identity)])


# --------------------------------------------------------------------------------------------
# Quality on the demo world.
# --------------------------------------------------------------------------------------------


def quality(world: World | None = None) -> dict[str, Any]:
    """Pairwise precision and recall on the demo world: stitching, then batch matching.

    The headline figures are after both; ``stitch_*`` are stitching alone, and the bound is
    what stitching could reach. Batch matching runs as ``crmos identity match`` does, with
    the default thresholds: pairs it queues for review count as not merged.
    """
    world = world or generate()
    with fresh_store("quality") as c:
        ws = c.workspaces.create("demo")[0].id
        lines = [orjson.dumps(e) for e in world.events]
        for _ in c.ingest().ingest_lines(ws, "import", lines):
            pass
        stitch_only(c).run_once()
        stitched = score(c.engine, world)
        matched = match_workspace(c.engine, ws, c.settings.identity)
        figures = score(c.engine, world)
    return figures | {
        "stitch_precision": stitched["precision"],
        "stitch_recall": stitched["recall"],
        "match_profiles": matched.profiles,
        "match_merged": matched.merged,
        "match_reviews": matched.reviews,
        "match_s": round(matched.seconds, 2),
    }


def score(engine: Engine, world: World) -> dict[str, Any]:
    """Score the profiles in ``engine`` (one workspace) against ``world``'s ground truth."""
    owners = _owners(world.ground_truth())
    with engine.connect() as conn:
        stored = [((kind, value), root) for kind, value, root in identifier_owners(conn)]
    scored = [(next(iter(owners[k])), root) for k, root in stored if len(owners.get(k, ())) == 1]
    bound = _bound(world.events, owners)
    precision, recall = _pairwise(scored)
    _, bound_recall = _pairwise(
        [(person, bound[k]) for k, _ in stored if (person := _one(owners, k))]
    )
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "recall_bound": round(bound_recall, 4),
        "identifiers_scored": len(scored),
        "ambiguous_identifiers": sum(1 for k, _ in stored if len(owners.get(k, ())) > 1),
        "demo_events": len(world.events),
    }


def _one(owners: dict[Key, set[str]], key: Key) -> str | None:
    who = owners.get(key, set())
    return next(iter(who)) if len(who) == 1 else None


def _owners(truth: list[dict[str, Any]]) -> dict[Key, set[str]]:
    owners: dict[Key, set[str]] = {}
    for row in truth:
        for kind in _TRUTH_TYPES[row["identifier_type"]]:
            key = (kind, normalise(kind, row["identifier_value"]))
            owners.setdefault(key, set()).add(row["person_id"])
    return owners


def _bound(events: list[dict[str, Any]], owners: dict[Key, set[str]]) -> dict[Key, Key]:
    """Union-find over identifiers seen together in an event: every link events carry.

    An identifier several people share (a switchboard) links only the events of one person
    to each other: the event's own identifiers tell whose it is.
    """
    norm = Normaliser(build_policy(IdentitySettings()))
    parent: dict[Key, Key] = {}

    def find(key: Key) -> Key:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    now = datetime.now(UTC)
    for n, message in enumerate(events):
        event = Event(
            "ws", str(n), message["type"], message.get("userId"), message.get("anonymousId"),
            None, now, now, message["context"]["touchpoint"], message, n + 1,
        )  # fmt: skip
        keys = _own_keys(claim_of(event, norm).keys, owners)
        for key in keys[1:]:
            a, b = find(keys[0]), find(key)
            if a != b:
                parent[b] = a
    return {key: find(key) for key in parent.keys() | owners.keys()}


def _own_keys(keys: list[Key], owners: dict[Key, set[str]]) -> list[Key]:
    """``keys``, a shared identifier made personal to the event's one owner (or dropped)."""
    people = {p for k in keys if len(who := owners.get(k, set())) == 1 for p in who}
    out = []
    for kind, value in keys:
        if len(owners.get((kind, value), ())) <= 1:
            out.append((kind, value))
        elif len(people) == 1:
            out.append((kind, f"{value}\0{next(iter(people))}"))
    return out


def _pairwise(items: list[tuple[str, Any]]) -> tuple[float, float]:
    def pairs(counts: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both = pairs(Counter(items))
    predicted = pairs(Counter(cluster for _, cluster in items))
    true = pairs(Counter(person for person, _ in items))
    return (both / predicted if predicted else 1.0, both / true if true else 1.0)


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
        ("precision (demo world)", "precision", "stitch_precision", ">= 0.995", ">="),
        ("recall (demo world)", "recall", "stitch_recall", ">= 0.98", ">="),
        (
            "recall, stitching alone",
            "stitch_recall",
            "recall_bound",
            "(bound: links in events)",
            "",
        ),
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
    for key, value in figures.items():
        if key.startswith(("febrl4_", "splink_", "dedupe_")):
            table.add_row(key, _fmt(value), "", "", "")
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def run(quick: bool, as_json: bool) -> None:
    """Run the benchmark; print the table (and with ``as_json`` the JSON object last)."""
    figures: dict[str, Any] = {}
    status.print("[dim]quality: demo world through intake, the stitcher and batch matching[/]")
    figures.update(quality())
    n = 60_000 if quick else 400_000
    status.print(f"[dim]throughput: {n:,} identify events, and the bare insert of their rows[/]")
    figures.update(throughput(n))
    samples = 100 if quick else 500
    status.print(f"[dim]latency: {samples} linking events while the stream runs[/]")
    figures.update(latency(samples))
    figures.update(matching_figures(quick))
    console.print(render(figures))
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")
