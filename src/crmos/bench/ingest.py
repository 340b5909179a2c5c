"""``crmos bench ingest``: intake throughput on SQLite and PostgreSQL beside a bare-insert ceiling.

Per store, each path starts from a fresh, migrated store (a temp directory, or a fresh
PostgreSQL database), so every one appends to an equally empty ``events`` table:

- **bulk**: N events in a temp ``.jsonl`` file, imported through ``ingest_lines`` (what
  ``crmos ingest`` runs): decode, validate, normalise, dedupe, encrypt, append, count.
- **ceiling**: the very rows bulk wrote, read back and inserted by a bare ``executemany`` loop
  in groups of the same size into a fresh ``events`` table (same indexes): no validation, no
  encryption, no counters. Only the inserts and commits are timed.
- **http**: a real ``crmos serve`` process (uvicorn) on a free loopback port; 8 client threads
  post pre-serialised batches of 100 events over kept-alive ``http.client`` connections. The
  clients run in this process, on the same cores as the server, so they cost it some CPU.

Ratios to the ceiling, measured in the same run, are the figures that hold on a shared machine.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from crmos.bootstrap import Container, build
from crmos.core.errors import CrmosError
from crmos.core.settings import Settings, StoreSettings
from crmos.store import normalise_url, placeholder
from crmos.store.tables import events

BATCH = 100
CLIENTS = 8
CHUNK = 5000  # the bulk import's chunk and the ceiling's group: one transaction each
HTTP_TARGET = 25_000.0
HTTP_RATIO_TARGET = 0.5
BULK_RATIO_TARGET = 0.8
CLIENT_NOTE = (
    f"HTTP client: {CLIENTS} threads in the bench process, one kept-alive http.client "
    f"connection each (TCP_NODELAY), posting pre-serialised batches of {BATCH}; it shares "
    "the cores with the server, whose background work (event stream consumers, the "
    "embedded saga engine) runs alongside intake as in production"
)
_COLUMNS = [c.name for c in events.columns if c.name != "seq"]

console = Console(width=max(Console().width, 120))
status = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many events each path writes."""

    bulk: int
    http: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        """Full: 1M bulk and 300k HTTP events; quick: a whole run (both stores) under a minute."""
        return cls(bulk=30_000, http=30_000) if quick else cls(bulk=1_000_000, http=300_000)


@dataclass(slots=True)
class Figures:
    """What one path of one store measured."""

    events: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float | None:
        """The ``q`` quantile of request latency in ms (HTTP only)."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(slots=True)
class StoreResult:
    """The three paths of one store."""

    store: str
    ceiling: Figures
    bulk: Figures
    http: Figures


# --------------------------------------------------------------------------------------------
# The workload: realistic Segment messages with unique (random, like the SDKs') messageIds.
# --------------------------------------------------------------------------------------------

_PAGES = [("Home", "/"), ("Pricing", "/pricing"), ("Docs", "/docs/start"), ("Blog", "/blog/q3")]
_EVENTS = ["Product Viewed", "Product Added", "Order Completed", "Signed Up", "Search"]
_PLANS = ["free", "team", "business", "enterprise"]


def _message(rng: random.Random, i: int, users: int, at: datetime) -> dict[str, Any]:
    user = rng.randrange(users)
    msg: dict[str, Any] = {
        "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "anonymousId": f"anon-{user:07d}",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "context": {
            "ip": f"203.0.{user % 250}.{i % 250}",
            "locale": "en-US",
            "library": {"name": "analytics-python", "version": "2.3.3"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
        },
    }
    if user % 10:  # one visitor in ten stays anonymous
        msg["userId"] = f"user-{user:07d}"
    roll = rng.random()
    if roll < 0.15:
        msg["type"] = "identify"
        msg["traits"] = {
            "email": f"person{user}@example.com",
            "name": f"Person {user}",
            "plan": rng.choice(_PLANS),
            "company": {"name": f"Company {user % 997}", "employees": user % 5000},
        }
    elif roll < 0.40:
        name, path = rng.choice(_PAGES)
        msg.update(type="page", name=name)
        msg["properties"] = {
            "path": path,
            "url": f"https://example.com{path}",
            "referrer": "https://www.google.com/",
            "title": f"{name} - Example",
        }
    else:
        msg.update(type="track", event=rng.choice(_EVENTS))
        msg["properties"] = {
            "product_id": f"sku-{rng.randrange(5000):05d}",
            "price": round(rng.uniform(5, 500), 2),
            "currency": "EUR",
            "quantity": rng.randrange(1, 5),
            "category": rng.choice(["shoes", "books", "games", "garden"]),
        }
    return msg


def workload(n: int, seed: int = 7) -> Iterator[bytes]:
    """``n`` serialised messages: 60% track, 25% page, 15% identify, ~50 events per person."""
    rng = random.Random(seed)
    users = max(100, n // 50)
    start = datetime.now(UTC) - timedelta(hours=1)
    for i in range(n):
        yield orjson.dumps(_message(rng, i, users, start + timedelta(milliseconds=i)))


def batch_bodies(lines: Iterable[bytes]) -> list[bytes]:
    """``POST /v1/batch`` bodies of ``BATCH`` messages each."""
    sent_at = orjson.dumps(datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    bodies: list[bytes] = []
    part: list[bytes] = []
    for line in lines:
        part.append(line)
        if len(part) == BATCH:
            bodies.append(b'{"batch":[' + b",".join(part) + b'],"sentAt":' + sent_at + b"}")
            part = []
    if part:
        bodies.append(b'{"batch":[' + b",".join(part) + b'],"sentAt":' + sent_at + b"}")
    return bodies


# --------------------------------------------------------------------------------------------
# Stores: a fresh one per path.
# --------------------------------------------------------------------------------------------


@contextmanager
def sqlite_store(label: str) -> Iterator[tuple[str, Path]]:
    """A fresh SQLite store in a temp directory: (URL, home)."""
    with tempfile.TemporaryDirectory(prefix=f"crmos-bench-{label}-") as tmp:
        home = Path(tmp)
        yield f"sqlite:///{home / 'crmos.db'}", home


def pg_store_factory(base_url: str) -> Callable[[str], Any]:
    """Fresh PostgreSQL databases on the server of ``base_url`` (dropped afterwards)."""

    @contextmanager
    def pg_store(label: str) -> Iterator[tuple[str, Path]]:
        name = f"crmos_bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_url(base_url), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
            with tempfile.TemporaryDirectory(prefix=f"crmos-bench-{label}-") as tmp:
                yield url, Path(tmp)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return pg_store


@contextmanager
def opened(url: str, home: Path) -> Iterator[Container]:
    """A migrated container on ``url``."""
    c = build(Settings(home=home, store=StoreSettings(url=url)), migrate_store=True)
    try:
        yield c
    finally:
        c.close()


def count_events(engine: Engine) -> int:
    """Rows in the event log."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


# --------------------------------------------------------------------------------------------
# The three paths.
# --------------------------------------------------------------------------------------------


def bench_bulk(c: Container, path: Path, n: int) -> Figures:
    """Import ``path`` the way ``crmos ingest`` does; all ``n`` events must be accepted."""
    ws, _, _ = c.workspaces.create("bench")
    accepted = 0
    t0 = time.perf_counter()
    with path.open("rb") as fh:
        lines = (line for line in fh if line.strip())
        for report in c.ingest().ingest_lines(ws.id, "import", lines):
            accepted += report.accepted
    seconds = time.perf_counter() - t0
    _expect("bulk import", n, accepted)
    return Figures(n, seconds)


def bench_ceiling(source: Engine, target: Engine, n: int) -> Figures:
    """Insert ``source``'s event rows into ``target`` by bare ``executemany`` in CHUNK groups."""
    mark = placeholder(target)
    sql = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})"
    stmt = select(*(events.c[name] for name in _COLUMNS)).order_by(events.c.seq)
    seconds = 0.0
    written = 0
    raw = target.raw_connection()
    try:
        with source.connect() as conn:
            result = conn.execution_options(yield_per=CHUNK).execute(stmt)
            for part in result.partitions(CHUNK):
                rows = [tuple(row) for row in part]
                t0 = time.perf_counter()
                cur = raw.cursor()
                cur.executemany(sql, rows)
                raw.commit()
                seconds += time.perf_counter() - t0
                written += len(rows)
    finally:
        raw.close()
    _expect("ceiling", n, written)
    return Figures(n, seconds)


def bench_http(url: str, home: Path, bodies: list[bytes], n: int) -> Figures:
    """Serve ``url`` with ``crmos serve`` and post ``bodies`` from CLIENTS threads."""
    with opened(url, home) as c:
        _, write, _ = c.workspaces.create("bench")
    auth = "Basic " + base64.b64encode(f"{write.secret}:".encode()).decode()
    warm, timed = bodies[:CLIENTS], bodies[CLIENTS:]
    with serving(url, home) as port:
        _post_all(port, auth, warm)  # first requests resolve the key and compile statements
        t0 = time.perf_counter()
        latencies = _post_all(port, auth, timed)
        seconds = time.perf_counter() - t0
    with opened(url, home) as c:
        _expect("HTTP intake", n + len(warm) * BATCH, count_events(c.engine))
    return Figures(n, seconds, latencies)


def _post_all(port: int, auth: str, bodies: list[bytes]) -> list[float]:
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []
    threads = [
        threading.Thread(
            target=_client, args=(port, auth, bodies[i::CLIENTS], latencies[i], errors)
        )
        for i in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise CrmosError(f"HTTP intake failed: {errors[0]}")
    return [ms for part in latencies for ms in part]


def _client(port: int, auth: str, bodies: list[bytes], out: list[float], errors: list[str]) -> None:
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.connect()
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for body in bodies:
            t0 = time.perf_counter()
            conn.request("POST", "/v1/batch", body, headers)
            resp = conn.getresponse()
            answer = resp.read()
            out.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                errors.append(f"HTTP {resp.status}: {answer[:300]!r}")
                return
    except (OSError, http.client.HTTPException) as exc:
        errors.append(repr(exc))
    finally:
        conn.close()


@contextmanager
def serving(url: str, home: Path, deadline_s: float = 60.0) -> Iterator[int]:
    """A ``crmos serve`` process on a free loopback port, stopped on exit (also on error)."""
    port = _free_port()
    env = {
        **os.environ,
        "CRMOS__STORE__URL": url,
        "CRMOS__HOME": str(home),
        "CRMOS_CONFIG": str(home / "absent.toml"),
    }
    cmd = [sys.executable, "-c", "from crmos.cli import main; main()", "serve"]
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        _wait_healthy(proc, port, time.monotonic() + deadline_s, home / "server.log")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, deadline: float, log: Path) -> None:
    while True:
        if proc.poll() is not None:
            raise CrmosError(f"crmos serve exited ({proc.returncode}): {_tail(log)}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass  # not listening yet, or too busy starting to answer within the timeout
        finally:
            conn.close()  # also after a timeout: an unclosed socket warns (an error in tests)
        if time.monotonic() > deadline:
            raise CrmosError(f"crmos serve not healthy on port {port} in time: {_tail(log)}")
        time.sleep(0.05)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _expect(what: str, wanted: int, got: int) -> None:
    if wanted != got:
        raise CrmosError(f"{what} stored {got} events, expected {wanted}")


# --------------------------------------------------------------------------------------------
# One store, then the report.
# --------------------------------------------------------------------------------------------


def bench_store(
    label: str, fresh: Callable[[str], Any], lines: Path, bodies: list[bytes], sizes: Sizes
) -> StoreResult:
    """Bulk, ceiling (from bulk's rows) and HTTP on fresh stores made by ``fresh``."""
    status.print(f"[dim]{label}: bulk import of {sizes.bulk:,} events[/]")
    with fresh("bulk") as (bulk_url, bulk_home), opened(bulk_url, bulk_home) as bulk_c:
        bulk = bench_bulk(bulk_c, lines, sizes.bulk)
        status.print(f"[dim]{label}: ceiling (bare executemany of the same rows)[/]")
        with fresh("ceiling") as (url, home), opened(url, home) as c:
            ceiling = bench_ceiling(bulk_c.engine, c.engine, sizes.bulk)
    status.print(f"[dim]{label}: HTTP intake of {sizes.http:,} events, {CLIENTS} clients[/]")
    with fresh("http") as (url, home):
        http = bench_http(url, home, bodies, sizes.http)
    return StoreResult(label, ceiling, bulk, http)


def figures_json(results: list[StoreResult], skipped: str | None) -> dict[str, Any]:
    """The JSON object: SQLite figures unprefixed, PostgreSQL ones with ``pg_``."""
    out: dict[str, Any] = {}
    names = {"sqlite": "", "postgresql": "pg_"}
    for r in results:
        p = names[r.store]
        out.update(
            {
                f"{p}http_events_per_s": round(r.http.per_s),
                f"{p}http_p50_ms": _round(r.http.percentile(0.50)),
                f"{p}http_p99_ms": _round(r.http.percentile(0.99)),
                f"{p}bulk_events_per_s": round(r.bulk.per_s),
                f"{p}ceiling_events_per_s": round(r.ceiling.per_s),
                f"{p}http_vs_ceiling": round(r.http.per_s / r.ceiling.per_s, 3),
                f"{p}bulk_vs_ceiling": round(r.bulk.per_s / r.ceiling.per_s, 3),
            }
        )
    if skipped:
        out["pg_skipped"] = skipped
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def render(results: list[StoreResult]) -> Table:
    """The readable table."""
    table = Table(title="crmos bench ingest")
    for name in ("store", "path", "events", "events/s", "p50 ms", "p99 ms", "vs ceiling"):
        table.add_column(name, justify="left" if name in ("store", "path") else "right")
    table.add_column("target")
    table.add_column("met?")
    for r in results:
        sqlite = r.store == "sqlite"
        for path, fig in (("ceiling", r.ceiling), ("http", r.http), ("bulk", r.bulk)):
            target, met = _target(path, fig.per_s / r.ceiling.per_s, fig.per_s, sqlite)
            p50, p99 = fig.percentile(0.5), fig.percentile(0.99)
            table.add_row(
                r.store,
                path,
                f"{fig.events:,}",
                f"{fig.per_s:,.0f}",
                "" if p50 is None else f"{p50:.1f}",
                "" if p99 is None else f"{p99:.1f}",
                f"{fig.per_s / r.ceiling.per_s:.0%}",
                target,
                met,
            )
    return table


def _target(path: str, ratio: float, per_s: float, has_target: bool) -> tuple[str, str]:
    if not has_target or path == "ceiling":
        return "", ""
    if path == "http":
        ok = per_s >= HTTP_TARGET and ratio >= HTTP_RATIO_TARGET
        return f">= {HTTP_TARGET / 1000:.0f}k/s, >= {HTTP_RATIO_TARGET:.0%}", _met(ok)
    return f">= {BULK_RATIO_TARGET:.0%}", _met(ratio >= BULK_RATIO_TARGET)


def _met(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def run(quick: bool, as_json: bool) -> None:
    """Run the benchmark and print the table (and with ``as_json`` the JSON object last)."""
    sizes = Sizes.pick(quick)
    pg_url = os.environ.get("CRMOS_TEST_PG_URL")
    skipped = None if pg_url else "CRMOS_TEST_PG_URL is unset (`make bench` starts a server)"
    stores: list[tuple[str, Callable[[str], Any]]] = [("sqlite", sqlite_store)]
    if pg_url:
        stores.append(("postgresql", pg_store_factory(pg_url)))
    with tempfile.TemporaryDirectory(prefix="crmos-bench-") as tmp:
        lines = Path(tmp) / "events.jsonl"
        status.print(f"[dim]writing {sizes.bulk:,} events to {lines.name}[/]")
        with lines.open("wb") as fh:
            fh.writelines(line + b"\n" for line in workload(sizes.bulk))
        bodies = batch_bodies(workload(sizes.http + CLIENTS * BATCH))
        results = [bench_store(label, fresh, lines, bodies, sizes) for label, fresh in stores]
    console.print(render(results))
    console.print(f"[dim]{CLIENT_NOTE}[/]")
    if skipped:
        console.print(f"[yellow]PostgreSQL skipped:[/] {skipped}")
    if as_json:
        sys.stdout.write(json.dumps(figures_json(results, skipped)) + "\n")
