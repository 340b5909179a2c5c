"""``crmos bench console``: the console's list and search speed, through the real app.

A fresh SQLite store gets 100,000 profiles (300,000 identifiers) and 1,000,000 events written
straight into identity's tables (``--quick``: 20,000 and 200,000), one profile holding 10,000
of the events; ``crmos profiles reindex`` builds the blind index (timed). Then, through the
FastAPI app in process (``TestClient`` over ASGI, no network; the time of each request from
send to parsed answer, which is server time plus the in-process transport):

- ``list_p95_ms``: ``GET /api/v1/profiles`` pages: newest first, walking on with the cursor,
  oldest created first, by touchpoint, seen in the last week.
- ``search_p95_ms``: ``?q=`` with a mix of e-mail starts and whole addresses, phones, Latin
  name starts, Chinese surnames and names, company names.
- ``profile_p95_ms``: ``GET /api/v1/profiles/{id}`` of the profile with 10,000 events.
- ``timeline_page_p95_ms``: ``GET /api/v1/profiles/{id}/timeline`` pages of the same profile:
  the newest page, pages further back through the cursor, one touchpoint, events of the last
  week, and one kind with no entries (every source is still asked).

Each figure comes with ``*_cpu_p95_ms``: the process's CPU time per request (the app runs in
this process and no workers are started), which a shared, overloaded machine inflates far less
than wall time.

References in the same run: ``ref_select_p95_ms``, a bare indexed ``SELECT`` of the 50 newest
search rows; ``ref_token_p95_ms``, a bare look-up of one token in the index; and
``ref_http_p95_ms``, ``GET /healthz`` through the same client (the transport's floor).
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from crmos.bench.console_data import DAY_MS, People, load, queries
from crmos.bootstrap import build
from crmos.core.settings import Settings
from crmos.identity import bare_queries, index_size, reindex_workspace
from crmos.identity.search_tokens import blind
from crmos.web import create_app

TARGETS = {
    "list_p95_ms": 150.0,
    "search_p95_ms": 150.0,
    "profile_p95_ms": 300.0,
    "timeline_page_p95_ms": 100.0,
}
HEAVY_EVENTS = 10_000
console = Console()
status = Console(stderr=True)


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2)


def _p50(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[len(ordered) // 2] * 1000, 2)


def _timed(calls: list[Callable[[], Any]], cpu: list[float] | None = None) -> list[float]:
    """Wall seconds of each call; with ``cpu``, the process's CPU seconds too (the app runs
    in this process: on a shared machine, wall minus CPU is time spent waiting for a core)."""
    out = []
    for call in calls:
        started, used = time.perf_counter(), time.process_time()
        call()
        out.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - used)
    return out


def _get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:300]}")
    return response.json()


def _list_calls(
    client: TestClient, headers: dict[str, str], now_ms: int, rounds: int
) -> list[Callable[[], Any]]:
    calls: list[Callable[[], Any]] = []
    path = "/api/v1/profiles"
    week = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now_ms - 7 * DAY_MS) / 1000))
    cursor = _get(client, headers, path)["next_cursor"]
    for _ in range(rounds):
        calls += [
            lambda: _get(client, headers, path),
            lambda: _get(client, headers, path, cursor=cursor),
            lambda: _get(client, headers, path, sort="created"),
            lambda: _get(client, headers, path, touchpoint="wechat"),
            lambda: _get(client, headers, path, last_seen_after=week),
        ]
    return calls


def _timeline_calls(
    client: TestClient, headers: dict[str, str], pid: str, now_ms: int, rounds: int
) -> list[Callable[[], Any]]:
    path = f"/api/v1/profiles/{pid}/timeline"
    week = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now_ms - 7 * DAY_MS) / 1000))
    cursors, cursor = [], None
    for _ in range(5):  # the cursors of pages 2..6, walked once
        cursor = _get(client, headers, path, **({"cursor": cursor} if cursor else {}))[
            "next_cursor"
        ]
        cursors.append(cursor)
    calls: list[Callable[[], Any]] = []
    for n in range(rounds):
        deeper = cursors[n % len(cursors)]
        calls += [
            lambda: _get(client, headers, path),
            functools.partial(_get, client, headers, path, cursor=deeper),
            lambda: _get(client, headers, path, touchpoint="wechat"),
            lambda: _get(client, headers, path, since=week),
            lambda: _get(client, headers, path, kind="dsr"),
        ]
    return calls


def measure(
    world: People, client: TestClient, headers: dict[str, str], quick: bool
) -> dict[str, Any]:
    """The p95 figures of one loaded world."""
    now_ms = int(time.time() * 1000)
    rounds = 20 if quick else 40
    path = "/api/v1/profiles"
    _get(client, headers, path)  # warm the app and the caches
    cpu: dict[str, list[float]] = {
        "list": [],
        "search": [],
        "profile": [],
        "timeline": [],
        "http": [],
    }
    listed = _timed(_list_calls(client, headers, now_ms, rounds), cpu["list"])
    texts = queries(world, 100 if quick else 200)
    found: list[int] = []

    def search(q: str) -> Callable[[], Any]:
        return lambda: found.append(len(_get(client, headers, path, q=q)["data"]))

    searched = _timed([search(q) for q in texts], cpu["search"])
    heavy = f"/api/v1/profiles/{world.heavy_id}"
    shown = _timed([lambda: _get(client, headers, heavy) for _ in range(rounds)], cpu["profile"])
    paged = _timed(
        _timeline_calls(client, headers, world.heavy_id, now_ms, rounds), cpu["timeline"]
    )
    health = _timed(
        [lambda: _get(client, headers, "/healthz") for _ in range(rounds * 2)], cpu["http"]
    )
    return {
        "list_p95_ms": _p95(listed),
        "list_p50_ms": _p50(listed),
        "search_p95_ms": _p95(searched),
        "search_p50_ms": _p50(searched),
        "search_hit_share": round(sum(1 for n in found if n) / len(found), 3),
        "profile_p95_ms": _p95(shown),
        "timeline_page_p95_ms": _p95(paged),
        "timeline_page_p50_ms": _p50(paged),
        "ref_http_p95_ms": _p95(health),
    } | {f"{name}_cpu_p95_ms": _p95(samples) for name, samples in cpu.items()}


def references(engine: Any, world: People, key: bytes, rounds: int) -> dict[str, Any]:
    """Bare indexed statements on the same store: the floor the listing and search stand on."""
    newest, holding = bare_queries(world.workspace_id, 50)
    tokens = [blind(key, [p.email.casefold()])[0] for p in world.sample]
    with engine.connect() as conn:
        rows = _timed([lambda: conn.execute(newest).all() for _ in range(rounds)])

        def look(tok: bytes) -> Callable[[], Any]:
            stmt = holding(tok)
            return lambda: conn.execute(stmt).all()

        looked = _timed([look(tok) for tok in tokens[:rounds]])
        size = index_size(conn)
    return {"ref_select_p95_ms": _p95(rows), "ref_token_p95_ms": _p95(looked), "index_rows": size}


def run(quick: bool, as_json: bool, size: tuple[int, int] | None = None) -> None:
    """Run the benchmark; print the table (and with ``as_json`` the JSON object last).

    ``size`` (profiles, events) overrides the sizes ``quick`` picks (tests use a small one).
    """
    count, events = size or ((20_000, 200_000) if quick else (100_000, 1_000_000))
    figures: dict[str, Any] = {"profiles": count, "events": events, "heavy_events": HEAVY_EVENTS}
    with tempfile.TemporaryDirectory(prefix="crmos-bench-console-") as tmp:
        settings = Settings(home=Path(tmp), store={"url": f"sqlite:///{tmp}/crmos.db"})
        container = build(settings, migrate_store=True)
        try:
            ws, _, admin = container.workspaces.create("bench")
            status.print(f"[dim]loading {count:,} profiles and {events:,} events[/]")
            started = time.perf_counter()
            now_ms = int(time.time() * 1000)
            world = load(container.log, ws.id, count, events, HEAVY_EVENTS, now_ms)
            figures["load_s"] = round(time.perf_counter() - started, 1)
            status.print("[dim]building the blind index (crmos profiles reindex)[/]")
            key = container.vault.search_key(ws.id)
            started, used = time.perf_counter(), time.process_time()
            with container.engine.begin() as conn:
                reindex_workspace(conn, key, ws.id)
            figures["index_s"] = round(time.perf_counter() - started, 1)
            figures["index_cpu_s"] = round(time.process_time() - used, 1)
            figures["index_profiles_per_s"] = round(count / figures["index_s"])
            status.print(
                "[dim]timing list, search, profile and timeline requests through the app[/]"
            )
            client = TestClient(create_app(container))  # no lifespan: no workers compete
            headers = {"Authorization": f"Bearer {admin.secret}"}
            figures.update(measure(world, client, headers, quick))
            figures.update(references(container.engine, world, key, 40))
        finally:
            container.close()
    figures["targets"] = TARGETS
    console.print(render(figures))
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")


def render(figures: dict[str, Any]) -> Table:
    """The figures as a table beside their targets."""
    table = Table("figure", "value", "target", title="crmos bench console (SQLite)")
    for name, value in figures.items():
        if name == "targets":
            continue
        target = TARGETS.get(name)
        table.add_row(
            name, "null" if value is None else str(value), f"< {target}" if target else ""
        )
    return table
