"""``crmos bench durability``: a real ``crmos serve`` (and in scale-out ``crmos worker`` processes)
under continuous load, killed with SIGKILL at random moments, on SQLite and PostgreSQL; after each
restart, nothing acknowledged may be lost.

Each store and topology gets a fresh home, the reference ERP/MES/SCM simulators and its
processes (``durability_topology``): ``single`` is one ``crmos serve`` that also executes the
runs; ``scale-out`` is a ``crmos serve`` with ``sagas.embedded = false`` beside one (SQLite) or
two (PostgreSQL) ``crmos worker`` processes. Per cycle the load runs for a random moment, then
SIGKILL hits the server (single), or in scale-out a worker while it executes a run's steps, the
server, or every process at once; the victims are started again side by side. The load:

- two intake threads post Segment batches (10 messages, each with its own messageId) with the
  Segment SDK's transport, ~30% identify calls for new people, the rest track calls;
- an erasure thread sends a new person and asks for their erasure at once
  (``POST /api/v1/dsr``); every other time the intake pauses first, so the erasure deletes the
  log's newest events and the next person sent follows at once (a reused sequence number
  would hide that person from the consumers);
- a run thread starts framework-agreement runs (contract, ERP credit check, MES capacity, SCM
  material lock) against the simulators (``POST /api/v1/runs``);
- a CLI thread runs ``crmos workspace list`` and ``crmos events tail -n 3`` in processes of
  their own against the same store.

After each restart the unanswered batches are resent (same messageIds, as the SDK retries),
and once every consumer reached the log head: every messageId answered 2xx is stored exactly
once (``lost``, ``duplicated``); every person sent has a profile and the live profiles are those
people (``skipped_events`` counts stored identify calls never stitched, plus stream failures); the
simulators count no duplicate or uncompensated side effect; ``PRAGMA integrity_check`` is ok.
``max_recovery_s`` is the time from the restart to every victim serving and every consumer at
the log head.

The reference, measured in the same run: the first (cold) start of the processes.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crmos.bench.durability_checks import (
    ENDED,
    IN_STEPS,
    Check,
    catch_up,
    check,
    lagging,
    log_head,
    looking,
    settle_runs,
    unexplained,
)
from crmos.bench.durability_load import Ledger, Load, resend, server_env
from crmos.bench.durability_topology import TOPOLOGIES, Process, Topology
from crmos.bench.ingest import pg_store_factory, sqlite_store
from crmos.bootstrap import build
from crmos.connectors.sim import start_simulators
from crmos.core.settings import Settings, StoreSettings
from crmos.sagas.journal import all_runs

# Piped output (make bench, --json into a file) would be cut to 80 columns: the table is wider.
console = Console(width=None if sys.stdout.isatty() else 150)
status = Console(stderr=True)
TARGET_ZERO = ("lost", "duplicated", "integrity_errors", "skipped_events")


@dataclass(frozen=True, slots=True)
class Sizes:
    """Kills per store (shared by the topologies), how long the load runs before each kill
    (seconds, drawn uniformly) and how many CLI commands run beside each cycle (None: one after
    another until the kill)."""

    kills: int
    window: tuple[float, float]
    cli_per_cycle: int | None

    @classmethod
    def pick(cls, quick: bool, kills: int | None = None) -> Sizes:
        """Full: 30 kills per topology after 2-6 s of load, CLI commands throughout; quick: 20
        per store after 0.5-2 s, one CLI command per cycle (each costs seconds of CPU)."""
        base = cls(20, (0.5, 2.0), 1) if quick else cls(60, (2.0, 6.0), None)
        return cls(kills if kills is not None else base.kills, base.window, base.cli_per_cycle)

    def per_topology(self, topologies: int) -> int:
        """The kills of each topology (at least one)."""
        return max(1, -(-self.kills // topologies))


#: Workers in scale-out: SQLite takes one writer at a time, so a second worker there adds
#: processes, not throughput; PostgreSQL gets two, which share the queue.
WORKERS = {"sqlite": 1, "postgresql": 2}


@dataclass(slots=True)
class StoreResult:
    """The campaign on one store."""

    store: str
    topology: str = "single"
    kills: int = 0
    kills_of: dict[str, int] = field(default_factory=dict)  # processes killed: serve, worker
    last_victims: list[str] = field(default_factory=list)
    cold_start_s: float = 0.0
    max_recovery_s: float = 0.0
    during: dict[str, int] = field(default_factory=dict)  # kills with this work in flight
    worst: Check = field(default_factory=Check)  # the worst figure of any check
    final: Check = field(default_factory=Check)
    erasures: dict[str, int] = field(default_factory=dict)  # answered erasures by status
    runs: dict[str, int] = field(default_factory=dict)  # runs by final status
    cli_commands: int = 0
    cli_failures: int = 0

    def absorb(self, one: Check) -> None:
        """Keep the worst value of every figure (a loss seen once is a loss)."""
        for name, value in asdict(one).items():
            setattr(self.worst, name, max(getattr(self.worst, name), value))
        self.final = one

    def figures(self) -> dict[str, Any]:
        """The JSON figures of this store."""
        worst = asdict(self.worst)
        out: dict[str, Any] = {"kills": self.kills, "acked": self.final.acked}
        out |= {k: worst[k] for k in TARGET_ZERO}
        out |= {
            "max_recovery_s": round(self.max_recovery_s, 2),
            "cold_start_s": round(self.cold_start_s, 2),
            "kills_during": dict(self.during),
            "kills_of": dict(self.kills_of),
            "erasures": self.erasures,
            "runs": self.runs,
            "cli_commands": self.cli_commands,
            "cli_failures": self.cli_failures,
        }
        rest = set(worst) - {"acked", *TARGET_ZERO}
        return out | {k: worst[k] for k in sorted(rest)}


def campaign(
    label: str, topology: str, url: str, home: Path, sizes: Sizes, kills: int, seed: int
) -> StoreResult:
    """Kill and restart one store's processes ``kills`` times under load, checking each time."""
    sims, stop_sims = start_simulators(seed=seed)
    try:
        setup = build(Settings(home=home, store=StoreSettings(url=url)), migrate_store=True)
        try:
            ws, write, admin = setup.workspaces.create("durability")
        finally:
            setup.close()  # no connection of this process stays open beside the server
        env = server_env(home, url, sims)
        topo = Topology.build(topology, env, home, WORKERS.get(label, 1))
        result = StoreResult(label, topology)
        ledger, rng, counter = Ledger(), random.Random(seed), dict[str, int]()
        result.cold_start_s = topo.start()
        try:
            for cycle in range(kills):
                keys = (write.secret, admin.secret)
                behind = _cycle(topo, result, ledger, keys, rng, counter, sizes)
                with looking(url) as engine:
                    settle_runs(engine, ledger.runs, 60)  # interrupted runs resume
                    found = check(engine, ws.id, ledger, list(sims.values()))
                    if found.profiles_unexplained:  # say which, for whoever looks into it
                        for line in unexplained(engine, ws.id):
                            status.print(f"[yellow]unexplained profile[/] {line}")
                found.consumers_behind = behind
                result.absorb(found)
                where = f"{label} {topology}"
                status.print(f"[dim]{where}: kill {cycle + 1}/{kills}, {_line(result)}[/]")
        finally:
            topo.stop()
        result.erasures = _tally(ledger.erased.values())
        with looking(url) as engine:
            result.runs = _tally(all_runs(engine, ledger.runs).values())
        result.cli_commands, result.cli_failures = ledger.cli_commands, ledger.cli_failures
        return result
    finally:
        stop_sims()


def _cycle(
    topo: Topology,
    result: StoreResult,
    ledger: Ledger,
    keys: tuple[str, str],
    rng: random.Random,
    counter: dict[str, int],
    sizes: Sizes,
) -> int:
    """Load for a random moment, SIGKILL the picked processes, restart them, wait for the
    consumers; how many consumers were still behind the log head at the deadline."""
    url = topo.server.env["CRMOS__STORE__URL"]
    load = Load(topo.server, ledger, *keys, rng, counter, cli_limit=sizes.cli_per_cycle)
    load.start()
    load.stopping.wait(rng.uniform(*sizes.window))
    victims = topo.pick(rng)
    if topo.server not in victims:
        _await_steps(url, ledger, 3.0)  # a worker is killed while it executes a run's step
    _note_in_flight(result, load, url, ledger)
    for process in victims:
        process.kill()
    result.kills += 1
    result.last_victims = [process.name for process in victims]
    for process in victims:
        kind = "serve" if process is topo.server else "worker"
        result.kills_of[kind] = result.kills_of.get(kind, 0) + 1
    load.halt()
    recovery, behind = _restart(topo, victims, load, url)
    load.stop()
    result.max_recovery_s = max(result.max_recovery_s, recovery)
    return len(behind)


def _await_steps(url: str, ledger: Ledger, deadline_s: float) -> None:
    """Poll until one of the runs asked for is between its steps' start and end (or give up)."""
    deadline = time.monotonic() + deadline_s
    with looking(url) as engine:
        while time.monotonic() < deadline:
            with ledger.lock:
                run_ids = ledger.runs[-20:]
            statuses = all_runs(engine, run_ids) if run_ids else {}
            if any(s in IN_STEPS for s in statuses.values()):
                return
            time.sleep(0.02)  # polling the store: the workers execute the runs


def _tally(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _note_in_flight(result: StoreResult, load: Load, url: str, ledger: Ledger) -> None:
    """Which kinds of work were under way at the moment of the kill."""
    with ledger.lock:
        busy = {k for k, n in load.in_flight.items() if n > 0}
        run_ids = list(ledger.runs)
    with looking(url) as engine:
        if lagging(engine, log_head(engine)):
            busy.add("consumers")
        if any(s not in ENDED for s in all_runs(engine, run_ids).values()):
            busy.add("saga steps")
    for kind in busy:
        result.during[kind] = result.during.get(kind, 0) + 1


def _restart(
    topo: Topology, victims: list[Process], load: Load, url: str
) -> tuple[float, list[str]]:
    """Start the victims again, resend what was not answered, wait for the consumers."""
    began = topo.restart(victims)
    resend(load)
    load.erase_pending()
    with looking(url) as engine:
        caught, behind = catch_up(engine, 120)
    if behind:
        status.print(f"[red]consumers behind the log head after 120 s: {', '.join(behind)}[/]")
    return began + caught, behind


def _line(result: StoreResult) -> str:
    w, f = result.worst, result.final
    return (
        f"acked {f.acked}, lost {w.lost}, duplicated {w.duplicated}, "
        f"skipped {w.skipped_events}, integrity {w.integrity_errors}, profiles "
        f"{f.profiles_expected}/{f.profiles_found} (unexplained {f.profiles_unexplained}, "
        f"unanswered batches {f.unanswered_batches}), killed {', '.join(result.last_victims)}"
    )


def render(results: list[StoreResult]) -> Table:
    """The readable table: one row per store, zero targets marked."""
    table = Table(title="crmos bench durability (SIGKILL under load)")
    heads = ("store", "topology", "kills", "acked", "lost", "dup", "integrity", "skipped",
             "side effects", "profiles exp/found", "recovery max s", "cold start s")  # fmt: skip
    for name in heads:
        table.add_column(name, justify="left" if name in ("store", "topology") else "right")
    for r in results:
        w = r.worst
        zeros = [_mark(getattr(w, k)) for k in TARGET_ZERO]
        table.add_row(
            r.store, r.topology, str(r.kills), str(r.final.acked), *zeros,
            f"{w.duplicate_side_effects}/{w.uncompensated_side_effects}",
            f"{r.final.profiles_expected}/{r.final.profiles_found}",
            f"{r.max_recovery_s:.2f}", f"{r.cold_start_s:.2f}",
        )  # fmt: skip
    return table


def _mark(value: int) -> str:
    return f"[green]{value}[/]" if value == 0 else f"[bold red]{value}[/]"


def figures_json(results: list[StoreResult], skipped: str | None) -> dict[str, Any]:
    """One JSON object: totals at the top level, per store, and per store and topology."""
    stores: dict[str, dict[str, Any]] = {}
    for r in results:
        stores.setdefault(r.store, {"topologies": {}})["topologies"][r.topology] = r.figures()
    for figures in stores.values():
        figures.update(_totals(list(figures["topologies"].values())))
    return {
        "bench": "durability",
        **_totals(list(stores.values())),
        "stores": stores,
        "postgresql_skipped": skipped,
    }


def _totals(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: sum(p[k] for p in parts) for k in ("kills", "acked", *TARGET_ZERO)}
    out["max_recovery_s"] = max((p["max_recovery_s"] for p in parts), default=0.0)
    return out


def run(
    quick: bool,
    as_json: bool,
    pg_url: str | None = None,
    kills: int | None = None,
    topologies: tuple[str, ...] = TOPOLOGIES,
) -> None:
    """Run the campaign and print the table (and with ``as_json`` the JSON object last)."""
    sizes = Sizes.pick(quick, kills)
    each = sizes.per_topology(len(topologies))
    pg_url = pg_url or os.environ.get("CRMOS_TEST_PG_URL")
    skipped = None if pg_url else "no PostgreSQL URL (set CRMOS_TEST_PG_URL or --pg-url)"
    stores: list[tuple[str, Callable[[str], AbstractContextManager[tuple[str, Path]]]]] = [
        ("sqlite", sqlite_store)
    ]
    if pg_url:
        stores.append(("postgresql", pg_store_factory(pg_url)))
    results = []
    for seed, (label, topology, fresh) in enumerate(
        ((label, t, fresh) for label, fresh in stores for t in topologies), start=1
    ):
        with fresh(f"durability-{topology}") as (url, home):
            results.append(campaign(label, topology, url, home, sizes, each, seed))
    console.print(render(results))
    if skipped:
        console.print(f"[yellow]PostgreSQL skipped:[/] {skipped}; SQLite only")
    if as_json:
        sys.stdout.write(json.dumps(figures_json(results, skipped)) + "\n")
