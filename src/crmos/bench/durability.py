"""``crmos bench durability``: a real ``crmos serve`` under continuous load, killed with SIGKILL at
random moments, on SQLite and PostgreSQL; after each restart, nothing acknowledged may be lost.

Each store gets a fresh home, the reference ERP/MES/SCM simulators and one ``crmos serve``. Per
cycle the load runs beside the server for a random moment, then the server is killed:

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
``max_recovery_s`` is the time from the restart to every consumer at the log head.

The reference, measured in the same run: the first (cold) start of the server.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crmos.bench.durability_checks import (
    ENDED,
    Check,
    catch_up,
    check,
    lagging,
    log_head,
    looking,
    settle_runs,
)
from crmos.bench.durability_load import Ledger, Load, Server, resend, server_env
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
    """Kills per store and how long the load runs before each kill (seconds, drawn uniformly)."""

    kills: int
    window: tuple[float, float]

    @classmethod
    def pick(cls, quick: bool, kills: int | None = None) -> Sizes:
        """Full: 30 kills after 2-6 s of load; quick: 20 kills after 1-3 s. A restart of
        ``crmos serve`` dominates a cycle either way, so --quick takes minutes, not one."""
        base = cls(20, (1.0, 3.0)) if quick else cls(30, (2.0, 6.0))
        return cls(kills if kills is not None else base.kills, base.window)


@dataclass(slots=True)
class StoreResult:
    """The campaign on one store."""

    store: str
    kills: int = 0
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
            "erasures": self.erasures,
            "runs": self.runs,
            "cli_commands": self.cli_commands,
            "cli_failures": self.cli_failures,
        }
        rest = set(worst) - {"acked", *TARGET_ZERO}
        return out | {k: worst[k] for k in sorted(rest)}


def campaign(label: str, url: str, home: Path, sizes: Sizes, seed: int) -> StoreResult:
    """Kill and restart one store's server ``sizes.kills`` times under load, checking each time."""
    sims, stop_sims = start_simulators(seed=seed)
    try:
        setup = build(Settings(home=home, store=StoreSettings(url=url)), migrate_store=True)
        try:
            ws, write, admin = setup.workspaces.create("durability")
        finally:
            setup.close()  # no connection of this process stays open beside the server
        server = Server(server_env(home, url, sims), home / "server.log")
        result = StoreResult(label)
        ledger, rng, counter = Ledger(), random.Random(seed), dict[str, int]()
        result.cold_start_s = server.start()
        try:
            for cycle in range(sizes.kills):
                load = Load(server, ledger, write.secret, admin.secret, rng, counter)
                load.start()
                load.stopping.wait(rng.uniform(*sizes.window))
                _note_in_flight(result, load, url, ledger)
                server.kill()
                result.kills += 1
                load.stop()
                recovery, behind = _restart(server, load, url)
                result.max_recovery_s = max(result.max_recovery_s, recovery)
                with looking(url) as engine:
                    settle_runs(engine, ledger.runs, 60)  # interrupted runs resume
                    found = check(engine, ws.id, ledger, list(sims.values()))
                found.consumers_behind = len(behind)
                result.absorb(found)
                status.print(f"[dim]{label}: kill {cycle + 1}/{sizes.kills}, {_line(result)}[/]")
        finally:
            server.stop()
        result.erasures = _tally(ledger.erased.values())
        with looking(url) as engine:
            result.runs = _tally(all_runs(engine, ledger.runs).values())
        result.cli_commands, result.cli_failures = ledger.cli_commands, ledger.cli_failures
        return result
    finally:
        stop_sims()


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


def _restart(server: Server, load: Load, url: str) -> tuple[float, list[str]]:
    """Start the server again, resend what was not answered, wait for the consumers."""
    began = server.start()
    resend(load)
    load.erase_pending()
    with looking(url) as engine:
        caught, behind = catch_up(engine, 120)
    if behind:
        status.print(f"[red]consumers behind the log head after 120 s: {', '.join(behind)}[/]")
    return began + caught, behind


def _line(result: StoreResult) -> str:
    w = result.worst
    return (
        f"acked {result.final.acked}, lost {w.lost}, duplicated {w.duplicated}, "
        f"skipped {w.skipped_events}, integrity {w.integrity_errors}"
    )


def render(results: list[StoreResult]) -> Table:
    """The readable table: one row per store, zero targets marked."""
    table = Table(title="crmos bench durability (SIGKILL under load)")
    heads = ("store", "kills", "acked", "lost", "dup", "integrity", "skipped", "side effects",
             "profiles exp/found", "recovery max s", "cold start s")  # fmt: skip
    for name in heads:
        table.add_column(name, justify="left" if name == "store" else "right")
    for r in results:
        w = r.worst
        zeros = [_mark(getattr(w, k)) for k in TARGET_ZERO]
        table.add_row(
            r.store, str(r.kills), str(r.final.acked), *zeros,
            f"{w.duplicate_side_effects}/{w.uncompensated_side_effects}",
            f"{r.final.profiles_expected}/{r.final.profiles_found}",
            f"{r.max_recovery_s:.2f}", f"{r.cold_start_s:.2f}",
        )  # fmt: skip
    return table


def _mark(value: int) -> str:
    return f"[green]{value}[/]" if value == 0 else f"[bold red]{value}[/]"


def figures_json(results: list[StoreResult], skipped: str | None) -> dict[str, Any]:
    """One JSON object: totals at the top level, and per store."""
    stores = {r.store: r.figures() for r in results}
    totals: dict[str, Any] = {
        k: sum(s[k] for s in stores.values()) for k in ("kills", "acked", *TARGET_ZERO)
    }
    totals["max_recovery_s"] = max((s["max_recovery_s"] for s in stores.values()), default=0.0)
    return {"bench": "durability", **totals, "stores": stores, "postgresql_skipped": skipped}


def run(quick: bool, as_json: bool, pg_url: str | None = None, kills: int | None = None) -> None:
    """Run the campaign and print the table (and with ``as_json`` the JSON object last)."""
    sizes = Sizes.pick(quick, kills)
    pg_url = pg_url or os.environ.get("CRMOS_TEST_PG_URL")
    skipped = None if pg_url else "no PostgreSQL URL (set CRMOS_TEST_PG_URL or --pg-url)"
    stores: list[tuple[str, Callable[[str], AbstractContextManager[tuple[str, Path]]]]] = [
        ("sqlite", sqlite_store)
    ]
    if pg_url:
        stores.append(("postgresql", pg_store_factory(pg_url)))
    results = []
    for seed, (label, fresh) in enumerate(stores, start=1):
        with fresh("durability") as (url, home):
            results.append(campaign(label, url, home, sizes, seed))
    console.print(render(results))
    if skipped:
        console.print(f"[yellow]PostgreSQL skipped:[/] {skipped}; SQLite only")
    if as_json:
        sys.stdout.write(json.dumps(figures_json(results, skipped)) + "\n")
