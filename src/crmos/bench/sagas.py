"""``crmos bench sagas``: durable runs of scenario 7 against the simulators, with faults and kills.

Everything runs on this machine: an embedded SQLite store in a temp directory, the reference
ERP, MES and SCM simulators in this process, and the engine in a real ``crmos worker`` process.

- **plain** (the reference): the four framework-agreement actions called one after another by
  the same number of threads as the engine runs at once: no durability, no journal.
- **DBOS alone**: workflows of four no-op steps on the same queue settings: the ceiling.
- **engine**: the same runs through the worker without faults: runs/s, and the per-step
  overhead of the engine (run time from its first to its last checkpoint, run one at a time,
  minus the plain chain's time, divided by the four steps).
- **reliability**: runs while the simulators inject 10% transient and 5% permanent errors and
  the worker is killed with SIGKILL at random moments and restarted; duplicate side effects and
  side effects left without compensation are counted at the simulators.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from crmos.bench.sagas_dbos import bare_runs_per_s
from crmos.bootstrap import Container, build
from crmos.connectors.sim import audit_simulators, start_simulators
from crmos.core.settings import Settings
from crmos.sagas import StepContext
from crmos.sagas.journal import all_runs

console = Console()
status = Console(stderr=True)

CONCURRENCY = 8
STEPS = 4
THROUGHPUT_TARGET = 50.0
READY = "executing runs"


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each part does."""

    runs: int
    kills: int
    throughput_runs: int
    latency_runs: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        """Full: 200 runs and 20 kills; quick (under a minute): 40 runs and 5 kills."""
        return cls(40, 5, 60, 8) if quick else cls(200, 20, 300, 30)


def agreement(i: int) -> dict[str, Any]:
    """Scenario 7: draft contract, ERP credit check, MES capacity, SCM material lock."""
    customer, amount = "acme", 100.0 + i % 100  # acme's credit limit holds thousands
    return {
        "name": "framework_agreement",
        "input": {"customer_id": customer, "amount": amount},
        "steps": [
            {
                "id": "contract",
                "action": "contract.draft",
                "with": {"customer_id": customer, "amount": amount, "title": f"Agreement {i}"},
            },
            {
                "id": "credit",
                "action": "erp.credit_check",
                "with": {"customer_id": customer, "amount": amount},
            },
            {
                "id": "capacity",
                "action": "mes.reserve_capacity",
                "with": {"line": "line-1", "quantity": 1 + i % 50},
            },
            {
                "id": "material",
                "action": "scm.lock_material",
                "with": {"material": "steel-coil", "quantity": 1.0 + i % 7},
            },
        ],
    }


@dataclass(slots=True)
class Stage:
    """A store, simulators and a worker process in one temp directory."""

    home: Path
    urls: dict[str, str]
    container: Container
    workspace: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start_worker(self) -> None:
        """Start ``crmos worker`` and wait until it takes runs."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from crmos.cli import main; main()", "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + 120
        while self.log.read_text(errors="replace").count(READY) < self.starts:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)  # polling the worker's log for its ready line

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop_worker(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def submit(self, first: int, count: int) -> list[str]:
        """Queue ``count`` agreement runs."""
        return [
            self.container.runs.start(self.workspace, agreement(first + i)).id for i in range(count)
        ]

    def wait_all(self, run_ids: list[str], timeout: float = 300.0) -> dict[str, str]:
        """Poll until every run ended; their statuses."""
        deadline = time.monotonic() + timeout
        while True:
            statuses = all_runs(self.container.engine, run_ids)
            if all(s in _ENDED for s in statuses.values()) or time.monotonic() > deadline:
                return statuses
            time.sleep(0.05)  # polling the store; the worker process does the work


_ENDED = {"completed", "compensated", "needs_attention", "cancelled"}


@contextmanager
def stage(label: str, concurrency: int, **faults: Any) -> Iterator[Stage]:
    """A fresh store, simulators with ``faults`` and the environment of a worker."""
    urls, stop_sims = start_simulators(**faults)
    with tempfile.TemporaryDirectory(prefix=f"crmos-bench-sagas-{label}-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
        env.update(
            CRMOS__HOME=str(home),
            CRMOS__STORE__URL=f"sqlite:///{home}/crmos.db",
            CRMOS__CONNECTORS__BASE_URLS=json.dumps(urls),
            CRMOS__SAGAS__CONCURRENCY=str(concurrency),
            CRMOS__SAGAS__EXECUTOR_ID="bench-worker",
            CRMOS__SAGAS__BACKOFF_S="0.05",
            CRMOS__SAGAS__MAX_BACKOFF_S="1",
        )
        settings = Settings(
            home=home, store={"url": env["CRMOS__STORE__URL"]}, connectors={"base_urls": urls}
        )
        container = build(settings, migrate_store=True)
        ws, _, _ = container.workspaces.create(f"bench-{label}")
        here = Stage(home, urls, container, ws.id, env, home / "worker.log")
        try:
            yield here
        finally:
            here.stop_worker()
            container.close()
            stop_sims()


# --------------------------------------------------------------------------------------------
# The reference: the same actions in a plain call chain.
# --------------------------------------------------------------------------------------------


def plain_chain(container: Container, run_id: str, spec: dict[str, Any]) -> None:
    """Call the run's actions in order, directly: no durability, no journal, no retries."""
    registry = container.runs.registry
    for step in spec["steps"]:
        action = registry.get(step["action"])
        params: BaseModel = action.params.model_validate(step["with"])
        ctx = StepContext(run_id, step["id"], 1, f"{run_id}:{step['id']}")
        action.execute(ctx, params)


def plain_throughput(container: Container, runs: int) -> float:
    """Runs/s of the plain chain on ``CONCURRENCY`` threads (after a warm-up on as many)."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        # Warm-up: every thread opens its connections first (a burst of new connections to
        # the simulators' small listen backlog waits for SYN retransmits).
        warm = range(100_000, 100_000 + 2 * CONCURRENCY)
        list(pool.map(lambda i: plain_chain(container, f"warm-{i}", agreement(i)), warm))
        started = time.perf_counter()
        list(pool.map(lambda i: plain_chain(container, f"plain-{i}", agreement(i)), range(runs)))
        return runs / (time.perf_counter() - started)


# --------------------------------------------------------------------------------------------
# The three parts.
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Speed:
    """Throughput and latency without faults."""

    engine_runs_per_s: float = 0.0
    plain_runs_per_s: float = 0.0
    dbos_runs_per_s: float = 0.0
    engine_run_ms: float = 0.0
    plain_run_ms: float = 0.0
    pickup_ms: float = 0.0

    @property
    def step_overhead_ms(self) -> float:
        """What the engine adds to one step, run one at a time."""
        return (self.engine_run_ms - self.plain_run_ms) / STEPS


def measure_speed(sizes: Sizes) -> Speed:
    """The engine against the plain chain, on the same simulators, without faults."""
    speed = Speed()
    speed.dbos_runs_per_s = bare_runs_per_s(sizes.throughput_runs, CONCURRENCY)
    with stage("speed", CONCURRENCY, seed=1) as here:
        speed.plain_runs_per_s = plain_throughput(here.container, sizes.throughput_runs)
        plain = []
        for i in range(sizes.latency_runs):
            clock = time.perf_counter()
            plain_chain(here.container, f"plain-seq-{i}", agreement(i))
            plain.append((time.perf_counter() - clock) * 1000)
        speed.plain_run_ms = statistics.median(plain)
        here.start_worker()
        # the same warm-up for the worker's connections
        _check_completed(here.wait_all(here.submit(50_000, 2 * CONCURRENCY)), "warm-up")
        clock = time.perf_counter()
        ids = here.submit(0, sizes.throughput_runs)
        ended = here.wait_all(ids)
        speed.engine_runs_per_s = len(ids) / (time.perf_counter() - clock)
        _check_completed(ended, "throughput")
        timings = [_timing(here, here.submit(10_000 + i, 1)) for i in range(sizes.latency_runs)]
        speed.engine_run_ms = statistics.median(t[0] for t in timings)
        speed.pickup_ms = statistics.median(t[1] for t in timings)
    return speed


def _timing(here: Stage, ids: list[str]) -> tuple[float, float]:
    """(first to last checkpoint, queue pickup) of one run, in ms, from its journal."""
    here.wait_all(ids)
    run = here.container.runs.get(here.workspace, ids[0]).run
    assert run.started_ms is not None and run.ended_ms is not None
    return float(run.ended_ms - run.started_ms), float(run.started_ms - run.created_ms)


def _check_completed(ended: dict[str, str], part: str) -> None:
    bad = {s for s in ended.values() if s != "completed"}
    if bad:
        raise RuntimeError(f"{part}: runs ended as {sorted(bad)} without any fault injected")


@dataclass(slots=True)
class Reliability:
    """What the faults and kills left behind."""

    statuses: dict[str, str] = field(default_factory=dict)
    kills: int = 0
    kills_mid_run: int = 0
    duplicates: int = 0
    uncompensated: int = 0
    side_effects: int = 0
    lost_on_completed: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """Runs that ended as ``status``."""
        return sum(1 for s in self.statuses.values() if s == status)


def measure_reliability(sizes: Sizes, seed: int = 11) -> Reliability:
    """Runs in waves while the worker is killed at random moments; counted at the simulators."""
    rng = random.Random(seed)
    result = Reliability()
    faults = {"error_rate": 0.15, "permanent_share": 1 / 3, "latency_ms": 5.0, "seed": seed}
    with stage("reliability", CONCURRENCY, **faults) as here:
        here.start_worker()
        clock = time.perf_counter()
        ids: list[str] = []
        wave = max(1, sizes.runs // (sizes.kills + 1))
        for _ in range(sizes.kills):
            batch = here.submit(len(ids), min(wave, sizes.runs - len(ids)))
            ids += batch
            in_flight = _random_moment(here, batch, rng)
            here.kill_worker()
            result.kills += 1
            result.kills_mid_run += in_flight > 0
            status.print(f"[dim]kill {result.kills}: {in_flight} runs in flight[/]")
            here.start_worker()
        ids += here.submit(len(ids), sizes.runs - len(ids))
        result.statuses = here.wait_all(ids)
        result.seconds = time.perf_counter() - clock
        _audit(here, result)
    return result


def _random_moment(here: Stage, batch: list[str], rng: random.Random) -> int:
    """Wait until a random share (0-80%) of ``batch`` ended while others are under way;
    returns how many runs are in flight then (the kill lands mid-run)."""
    target = int(rng.uniform(0.0, 0.8) * len(batch))
    deadline = time.monotonic() + 30
    while True:
        statuses = list(all_runs(here.container.engine, batch).values())
        ended = sum(1 for s in statuses if s in _ENDED)
        running = sum(1 for s in statuses if s in ("running", "compensating"))
        if (ended >= target and running) or ended == len(batch) or time.monotonic() > deadline:
            return len(batch) - ended
        time.sleep(0.005)  # polling the store for the moment to kill


def _audit(here: Stage, result: Reliability) -> None:
    rolled_back = [r for r, s in result.statuses.items() if s != "completed"]
    audit = audit_simulators(here.urls.values(), rolled_back)
    result.duplicates = audit.duplicate_side_effects
    result.uncompensated = audit.uncompensated_side_effects
    result.side_effects = audit.side_effects
    completed = [r for r, s in result.statuses.items() if s == "completed"]
    # a completed run keeps its four side effects open: fewer means one was undone or lost
    result.lost_on_completed = sum(STEPS - audit.open_by_reference.get(r, 0) for r in completed)


# --------------------------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------------------------


def render(speed: Speed, rel: Reliability, sizes: Sizes) -> Table:
    """The readable table."""
    table = Table("figure", "value", "reference / target", title="crmos bench sagas (SQLite)")
    rows: list[tuple[str, str, str]] = [
        ("runs (4 steps each, 10% transient + 5% permanent)", str(len(rel.statuses)), ""),
        ("worker SIGKILLs (landing mid-run)", f"{rel.kills} ({rel.kills_mid_run})", ""),
        ("completed", str(rel.count("completed")), ""),
        ("compensated", str(rel.count("compensated")), ""),
        ("needs attention", str(rel.count("needs_attention")), ""),
        ("duplicate side effects (at the simulators)", str(rel.duplicates), "target 0"),
        ("side effects left uncompensated", str(rel.uncompensated), "target 0"),
        ("side effects missing from completed runs", str(rel.lost_on_completed), "target 0"),
        (
            "runs/s without faults (engine)",
            f"{speed.engine_runs_per_s:.1f}",
            f"target >= {THROUGHPUT_TARGET:.0f}; plain chain {speed.plain_runs_per_s:.1f}",
        ),
        (
            "DBOS alone: 4 no-op steps, queued, runs/s",
            f"{speed.dbos_runs_per_s:.1f}",
            "the ceiling of any engine on DBOS here",
        ),
        (
            "run, one at a time, ms (engine / plain)",
            f"{speed.engine_run_ms:.1f} / {speed.plain_run_ms:.1f}",
            "",
        ),
        (
            "per-step overhead of the engine, ms",
            f"{speed.step_overhead_ms:.2f}",
            "vs the plain call chain",
        ),
        ("queue pickup, ms (median)", f"{speed.pickup_ms:.1f}", "sagas.poll_interval_s 0.05"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def figures(speed: Speed, rel: Reliability) -> dict[str, Any]:
    """The JSON object (its first keys are the ones the issue names)."""
    return {
        "runs": len(rel.statuses),
        "completed": rel.count("completed"),
        "compensated": rel.count("compensated"),
        "needs_attention": rel.count("needs_attention"),
        "duplicate_side_effects": rel.duplicates,
        "uncompensated_side_effects": rel.uncompensated,
        "runs_per_s": round(speed.engine_runs_per_s, 1),
        "step_overhead_ms": round(speed.step_overhead_ms, 2),
        "plain_runs_per_s": round(speed.plain_runs_per_s, 1),
        "dbos_alone_runs_per_s": round(speed.dbos_runs_per_s, 1),
        "engine_run_ms": round(speed.engine_run_ms, 1),
        "plain_run_ms": round(speed.plain_run_ms, 1),
        "pickup_ms": round(speed.pickup_ms, 1),
        "kills": rel.kills,
        "kills_mid_run": rel.kills_mid_run,
        "cancelled": rel.count("cancelled"),
        "side_effects": rel.side_effects,
        "side_effects_missing_from_completed": rel.lost_on_completed,
        "reliability_seconds": round(rel.seconds, 1),
    }


def run(quick: bool, as_json: bool) -> None:
    """Run the benchmark and print the table (and with ``as_json`` the JSON object last)."""
    sizes = Sizes.pick(quick)
    status.print("[dim]speed: plain chain, then the engine, without faults[/]")
    speed = measure_speed(sizes)
    status.print(f"[dim]reliability: {sizes.runs} runs, {sizes.kills} SIGKILLs[/]")
    rel = measure_reliability(sizes)
    console.print(render(speed, rel, sizes))
    if as_json:
        sys.stdout.write(json.dumps(figures(speed, rel)) + "\n")
