"""``crmos bench scaleout``: the partitioned stream on PostgreSQL with 1, 2 and 4 workers, and a
worker killed mid-run.

Every figure runs real processes: N ``crmos worker --partitioned`` (and, for the kill, a load
split across two ``crmos serve --role api`` nodes). A rate is the events the workers carried
through every consumer per second of wall time, taken from the consumers' offsets while they
worked (start-up excluded). ``lease_failover_s`` is the time from a worker's SIGKILL until its
partitions are all held by live workers again; ``duplicates`` and ``lost`` compare what the
stream derived with the events accepted. On a machine with fewer free cores than workers the
rates cannot scale: the report says how many cores there are and gives per-core figures.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from segment.analytics import request as segment_request
from segment.analytics.request import post as segment_post
from sqlalchemy import Engine, create_engine, text

from crmos.bench.durability_load import Server
from crmos.bench.durability_topology import Worker
from crmos.bench.ingest import pg_store_factory
from crmos.bench.scaleout_state import segment_load, snapshot
from crmos.bootstrap import Container, build
from crmos.core.errors import CrmosError
from crmos.core.settings import Settings, StoreSettings
from crmos.store import normalise_url
from crmos.store import partitions as parts
from crmos.store.tables_stream import PARTITIONS

CONSUMERS = ("identity", "graph", "triggers", "agent", "compliance")
status = Console(stderr=True)


def node_env(home: Path, url: str, role: str) -> dict[str, str]:
    """The environment of a scale-out node: partitioned stream, short leases for the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(
        CRMOS__HOME=str(home),
        CRMOS__STORE__URL=url,
        CRMOS_CONFIG=str(home / "absent.toml"),
        CRMOS__STREAM__PARTITIONED="true",
        CRMOS__STREAM__ROLE=role,
        CRMOS__STREAM__LEASE_S="4",
        CRMOS__STREAM__HEARTBEAT_S="0.5",
        CRMOS__SAGAS__EMBEDDED="false",
        CRMOS__SAGAS__POLL_INTERVAL_S="0.1",
        PYTHONPATH=os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"),) if p),
    )
    return env


@dataclass(slots=True)
class Cluster:
    """API nodes and stream workers on one PostgreSQL store, as real processes."""

    url: str
    home: Path
    apis: list[Server] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def start_api(self, n: int) -> None:
        """Start ``n`` ``crmos serve --role api`` nodes and wait until they answer."""
        for i in range(n):
            node = Server(node_env(self.home, self.url, "api"), self.home / f"api-{i}.log")
            node.spawn()
            self.apis.append(node)
        for node in self.apis:
            node.ready()

    def start_workers(self, n: int, wait: bool = True) -> None:
        """Start ``n`` more ``crmos worker --partitioned`` processes."""
        first = len(self.workers)
        for i in range(first, first + n):
            env = node_env(self.home, self.url, "worker")
            worker = Worker(env, self.home / f"worker-{i}.log", f"worker-{i}")
            worker.spawn()
            self.workers.append(worker)
        if wait:
            for worker in self.workers[first:]:
                worker.ready()

    def stop(self) -> None:
        """Stop every process (SIGTERM; SIGKILL after 30 s)."""
        for api in self.apis:
            api.stop()
        for worker in self.workers:
            worker.stop()  # a no-op for one already gone


def worker_id(worker: Worker) -> str:
    """A worker's stream id (host:pid, the default)."""
    import socket

    assert worker.process is not None
    return f"{socket.gethostname()}:{worker.process.pid}"


def lag(engine: Engine) -> int:
    """Events not yet through every consumer (identity's lag counts in every later one)."""
    with engine.connect() as conn:
        have = {
            r[0] for r in conn.execute(text("SELECT DISTINCT consumer FROM stream_part_offsets"))
        }
        if not set(CONSUMERS) <= have:
            return -1
        total = sum(sum(by_part.values()) for by_part in parts.lags(conn, CONSUMERS).values())
        pending = conn.execute(
            text("SELECT (SELECT count(*) FROM events) - (SELECT count(*) FROM stream_profiles)")
        ).scalar_one()
    return int(total) + int(pending)


def wait_drained(
    engine: Engine, deadline_s: float, tick: Callable[[int], None] | None = None
) -> float:
    """Poll until every consumer reached the end of its streams; returns when (monotonic)."""
    deadline = time.monotonic() + deadline_s
    while True:
        left = lag(engine)
        if tick is not None:
            tick(left)
        if left == 0:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise CrmosError(f"the stream did not drain within {deadline_s:.0f}s ({left} behind)")
        time.sleep(0.1)  # polling another process's progress


def load_direct(url: str, home: Path, messages: list[dict[str, Any]]) -> tuple[str, str]:
    """Create a workspace and write ``messages`` through intake in this process (no consumer
    runs here); returns (workspace id, write key)."""
    c = build(Settings(home=home, store=StoreSettings(url=url)), migrate_store=True)
    try:
        ws, write, _admin = c.workspaces.create("bench")
        write_lines(c, ws.id, messages)
        return ws.id, write.secret
    finally:
        c.close()


def write_lines(c: Container, workspace_id: str, messages: list[dict[str, Any]]) -> None:
    """Intake ``messages`` in chunks through the container's service."""
    for start in range(0, len(messages), 500):
        lines = [orjson.dumps(m) for m in messages[start : start + 500]]
        for report in c.ingest().ingest_lines(workspace_id, "web", lines):
            if report.rejected:
                raise CrmosError(f"bench events rejected: {report.problems[:3]}")


def post_split(
    urls: list[str], write_key: str, messages: list[dict[str, Any]], batch: int = 100
) -> None:
    """Send ``messages`` with the Segment SDK's request, batch by batch, round robin over the
    API nodes (each person's messages stay in order: batches go one after the other)."""
    try:
        for i, start in enumerate(range(0, len(messages), batch)):
            chunk = messages[start : start + batch]
            segment_post(write_key, urls[i % len(urls)], timeout=15, batch=chunk)
    finally:
        segment_request._session.close()  # the SDK's keep-alive sockets to nodes about to stop


def rate_with(url: str, home: Path, workers: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Events per second through every consumer with ``workers`` workers on a loaded log: the
    work done between the first sample that shows progress and the drained one."""
    load_direct(url, home, messages)
    engine = create_engine(normalise_url(url))
    cluster = Cluster(url, home)
    samples: list[tuple[float, int]] = []
    try:
        cluster.start_workers(workers, wait=False)
        wait_drained(engine, 900, lambda left: samples.append((time.monotonic(), left)))
    finally:
        cluster.stop()
        engine.dispose()
    known = [(t, n) for t, n in samples if n >= 0]
    first = next((i for i in range(1, len(known)) if known[i][1] < known[0][1]), None)
    out: dict[str, Any] = {"workers": workers, "events": len(messages), "events_per_s": None}
    if first is None:
        return out
    (t0, n0), (t1, _n1) = known[first - 1], known[-1]
    units_per_event = known[0][1] / len(messages)  # identity, the profile stream, 4 rooms
    spent = t1 - t0
    out["seconds"] = round(spent, 2)
    out["events_per_s"] = round(n0 / units_per_event / spent, 1) if spent > 0 else None
    return out


def kill_run(
    url: str, home: Path, messages: list[dict[str, Any]], expected: dict[str, Any]
) -> dict[str, Any]:
    """Two API nodes and three workers; the Segment load split across the API nodes; one
    worker SIGKILLed mid-run. Failover time, duplicates, lost, and whether the derived state
    equals the single-process run's."""
    _ws, key = load_direct(url, home, [])
    engine = create_engine(normalise_url(url))
    cluster = Cluster(url, home)
    try:
        cluster.start_api(2)
        cluster.start_workers(3)
        wait_until_held(engine, 3, 60)
        urls = [api.url for api in cluster.apis]
        cut = len(messages) * 2 // 5
        post_split(urls, key, messages[:cut])
        victim = cluster.workers[0]
        dead = worker_id(victim)
        victim.kill()
        killed = time.monotonic()
        post_split(urls, key, messages[cut:])
        moved = wait_moved(engine, dead, 60)
        wait_drained(engine, 600)
        got = snapshot(engine)
        with engine.connect() as conn:
            accepted = int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
            rekeyed, distinct = conn.execute(
                text("SELECT count(*), count(DISTINCT event_seq) FROM stream_profiles")
            ).one()
            stitched = int(conn.execute(text("SELECT count(*) FROM profile_events")).scalar_one())
    finally:
        cluster.stop()
        engine.dispose()
    return {
        "lease_failover_s": round(moved - killed, 2),
        "duplicates": int(rekeyed) - int(distinct),
        "lost": (len(messages) - accepted) + (accepted - int(distinct)) + (accepted - stitched),
        "same_state_as_one_process": got == expected,
        "events": len(messages),
    }


def wait_until_held(engine: Engine, owners: int, deadline_s: float) -> None:
    """Poll until ``owners`` live workers hold every partition between them."""
    deadline = time.monotonic() + deadline_s
    while True:
        held = partitions_owned(engine)
        if len(held) == owners and sum(held.values()) == PARTITIONS:
            return
        if time.monotonic() > deadline:
            raise CrmosError(f"partitions not shared by {owners} workers: {held}")
        time.sleep(0.05)  # polling another process's progress


def wait_moved(engine: Engine, dead: str, deadline_s: float) -> float:
    """Poll until no partition is held by ``dead`` and all are held; returns when."""
    deadline = time.monotonic() + deadline_s
    while True:
        held = partitions_owned(engine)
        if dead not in held and sum(held.values()) == PARTITIONS:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise CrmosError(f"partitions of {dead} not taken over: {held}")
        time.sleep(0.05)  # polling another process's progress


def reference(home: Path, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The state one embedded process derives from ``messages`` (the comparison's reference)."""
    c = build(
        Settings(home=home, store=StoreSettings(url=f"sqlite:///{home}/one.db")),
        migrate_store=True,
    )
    try:
        ws, _write, _admin = c.workspaces.create("bench")
        write_lines(c, ws.id, messages)
        c.stream.run_once()
        return snapshot(c.engine)
    finally:
        c.close()


def run(quick: bool, as_json: bool, pg_url: str | None) -> dict[str, Any]:
    """The benchmark: rates with 1, 2 and 4 workers, then the kill run; prints and returns."""
    pg_url = pg_url or os.environ.get("CRMOS_TEST_PG_URL")
    if not pg_url:
        raise CrmosError("no PostgreSQL URL (set CRMOS_TEST_PG_URL or --pg-url)")
    people = 150 if quick else 1500
    messages = segment_load(people)
    store = pg_store_factory(pg_url)
    report: dict[str, Any] = {
        "machine": machine(),
        "events": len(messages),
        "partitions": PARTITIONS,
    }
    rates = {}
    for n in (1, 2, 4):
        with store(f"scale{n}") as (url, home):
            rates[n] = rate_with(url, home, n, messages)
        _say(as_json, f"{n} worker(s): {rates[n]}")
    report["events_per_s"] = {str(n): r["events_per_s"] for n, r in rates.items()}
    one, two = rates[1]["events_per_s"], rates[2]["events_per_s"]
    report["scaling_2w"] = round(two / one, 2) if one and two else None
    cores = os.cpu_count() or 1
    report["per_core_events_per_s"] = {
        str(n): round(r["events_per_s"] / min(n, cores), 1) if r["events_per_s"] else None
        for n, r in rates.items()
    }
    with tempfile.TemporaryDirectory(prefix="crmos-scaleout-ref-") as tmp:
        expected = reference(Path(tmp), messages)
    with store("scalekill") as (url, home):
        report |= kill_run(url, home, messages, expected)
    report["note"] = (
        f"{cores} cores, shared with other processes: workers beyond the free cores cannot add "
        "throughput here; compare per-core figures, not scaling."
    )
    if as_json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        status.print_json(orjson.dumps(report).decode())
    return report


def _say(as_json: bool, line: str) -> None:
    status.print(f"[dim]{line}[/]", highlight=False)


def machine() -> dict[str, Any]:
    """The cores this run had (shared with whatever else runs here)."""
    return {"cpu_count": os.cpu_count(), "load_1m": round(os.getloadavg()[0], 2)}


def partitions_owned(engine: Engine) -> dict[str, int]:
    """Live lease holders and how many partitions each holds."""
    now = int(time.time() * 1000)
    with engine.connect() as conn:
        rows = parts.leases(conn)
    held: dict[str, int] = {}
    for r in rows:
        if r.owner and r.expires_ms > now:
            held[r.owner] = held.get(r.owner, 0) + 1
    return held
