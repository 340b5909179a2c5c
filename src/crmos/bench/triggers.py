"""``crmos bench triggers``: trigger evaluation throughput and fire-to-run latency.

- **throughput**: 50 playbook triggers (counts, sequences, count-and-absence, any-of, a trait
  condition) over 100,000 profiles; random events through the per-profile evaluator, with the
  conditions in CEL (``events_per_s``) and, as the reference measured in the same run, the same
  conditions as plain Python lambdas (``lambda_events_per_s``).
- **latency**: a real embedded crmos (SQLite, intake writer, event stream, launcher) with the 50
  playbooks plus scenario 1's published, under about 1,000 events/s of background load through
  intake; probe buyers complete the renewal pattern. ``p50_ms``/``p99_ms``: from the trigger
  consumer evaluating the completing view (the firing recorded) to its run being started
  (written to the sagas journal and queued); ``intake_to_run_*``: from handing the view to
  intake, which adds the time identity, graph and the other upstream consumers take. With
  ``CRMOS_TEST_PG_URL`` set, the same on a fresh PostgreSQL database (figures ``pg_*``).
  Once-per-process costs (the DBOS client, the action registry) are paid before measuring.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import yaml
from rich.console import Console
from rich.table import Table

from crmos.bench.ingest import pg_store_factory
from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.triggers import (
    Condition,
    Evaluable,
    Evaluator,
    EventView,
    LambdaCondition,
    Trigger,
    parse_pattern,
)

NAMES = [f"Event {k}" for k in range(10)]
PLAYBOOKS = 50
PROFILES = 100_000
TIERS = ("gold", "silver", "bronze")


def patterns() -> list[tuple[dict[str, Any], str | None]]:
    """The 50 benchmark patterns and their completion conditions."""
    out: list[tuple[dict[str, Any], str | None]] = []
    for i in range(PLAYBOOKS):
        name, other, where = (
            NAMES[i % 10],
            NAMES[(i + 1) % 10],
            f'event.properties.path == "/p{i % 25}"',
        )
        kind = i % 5
        if kind == 0:
            p: dict[str, Any] = {
                "count": {"event": name, "where": where, "at_least": 3, "within": "1h"}
            }
        elif kind == 1:
            p = {
                "sequence": {
                    "steps": [{"event": name, "where": where}, {"event": other}],
                    "within": "30m",
                }
            }
        elif kind == 2:
            p = {
                "all": [
                    {"count": {"event": name, "where": where, "at_least": 2, "within": "10m"}},
                    {"absent": {"event": NAMES[(i + 3) % 10], "within": "10m"}},
                ]
            }
        elif kind == 3:
            p = {
                "any": [
                    {"count": {"event": name, "where": where, "at_least": 5, "within": "1h"}},
                    {
                        "event": {
                            "event": NAMES[(i + 2) % 10],
                            "where": "event.properties.amount > 990",
                        }
                    },
                ]
            }
        else:
            p = {"count": {"event": name, "where": where, "at_least": 2, "within": "5m"}}
        out.append((p, 'traits.tier == "gold"' if kind == 4 else None))
    return out


def _lambda(source: str) -> Evaluable:
    """The Python lambda equivalent of a benchmark condition."""
    if source.startswith("event.properties.path"):
        path = source.split('"')[1]
        return LambdaCondition(source, lambda a: a["event"]["properties"]["path"] == path)
    if source.startswith("event.properties.amount"):
        return LambdaCondition(source, lambda a: a["event"]["properties"]["amount"] > 990)
    return LambdaCondition(source, lambda a: a["traits"]["tier"] == "gold")


def triggers(compile_: Callable[[str], Evaluable]) -> list[Trigger]:
    """The 50 triggers with conditions compiled by ``compile_``."""
    out = []
    for i, (raw, condition) in enumerate(patterns()):
        pattern, problems = parse_pattern(raw, "trigger.pattern", compile_)
        assert pattern is not None, problems
        out.append(Trigger(f"pb{i}", "v1", pattern, compile_(condition) if condition else None))
    return out


def events(n: int, seed: int = 1) -> list[tuple[str, EventView, dict[str, Any]]]:
    """``n`` random events over 100,000 profiles, with their activations."""
    rng = random.Random(seed)
    tiers = [TIERS[rng.randrange(3)] for _ in range(PROFILES)]
    out = []
    for j in range(n):
        k = rng.randrange(PROFILES)
        name = NAMES[rng.randrange(10)]
        props = {"path": f"/p{rng.randrange(25)}", "amount": rng.randrange(1000)}
        act = {
            "event": {"name": name, "type": "track", "properties": props},
            "traits": {"tier": tiers[k]},
            "flags": {},
        }
        out.append((f"prf{k}", EventView(f"e{j}", name, "track", j * 2), act))
    return out


def throughput(compile_: Callable[[str], Evaluable], stream: list[Any]) -> tuple[float, int]:
    """Events per second through a fresh evaluator, and how many firings."""
    evaluator = Evaluator(triggers(compile_))
    outbox: list[Any] = []
    start = time.perf_counter()
    for profile, view, act in stream:
        outbox.extend(evaluator.observe(profile, view, act))
    return len(stream) / (time.perf_counter() - start), len(outbox)


def _yaml(i: int, raw: Mapping[str, Any], condition: str | None) -> str:
    trigger: dict[str, Any] = {"pattern": raw}
    if condition:
        trigger["condition"] = condition
    steps = [
        {
            "id": "quote",
            "component": "insurance.rate_factor",
            "with": {"base_premium": 100, "claims": 0},
        }
    ]
    spec = {"id": f"bench-{i}", "description": "benchmark", "trigger": trigger, "steps": steps}
    return yaml.safe_dump(spec, sort_keys=False)


def latency(
    seconds: float, probes: int, rate: int = 1000, pg_url: str | None = None
) -> tuple[tuple[list[float], list[float]], float]:
    """Fire-to-run latencies (ms) of probes under ``rate`` events/s of background load, on a
    fresh SQLite store (or a fresh database on the PostgreSQL server of ``pg_url``)."""
    with ExitStack() as stack:
        if pg_url is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = f"sqlite:///{tmp}/bench.db"
        else:
            url, tmp = stack.enter_context(pg_store_factory(pg_url)("triggers"))
        settings = Settings(home=tmp / "home", store={"url": url})
        container = build(settings, migrate_store=True)
        try:
            return _measure(container, seconds, probes, rate)
        finally:
            container.close()


def _measure(
    c: Container, seconds: float, probes: int, rate: int
) -> tuple[tuple[list[float], list[float]], float]:
    from importlib.resources import files

    ws, _, _ = c.workspaces.create("bench")
    for i, (raw, condition) in enumerate(patterns()):
        c.playbooks.publish(ws.id, _yaml(i, raw, condition), "bench", "")
    renewal = files("crmos.playbooks.examples").joinpath("renewal_risk.yaml").read_text("utf-8")
    c.playbooks.publish(ws.id, renewal, "bench", "")
    intake = c.ingest()
    now = time.time()
    seed = [_view(f"probe{k}", now - 3600 * h, f"s{k}-{h}") for k in range(probes) for h in (5, 4)]
    _send(intake, ws.id, seed)
    c.stream.run_once()
    c.start_writer()
    intake = c.ingest()
    # Paid once per process, not per firing: the DBOS client (its migrations), the actions.
    c.runs.dispatcher.client()
    assert c.runs.registry is not None
    c.stream.start()
    c.playbooks.start_timers()  # as `crmos serve` does: timers, and launching what is pending
    stop = threading.Event()
    sent = [0]
    began = time.monotonic()
    load = threading.Thread(target=_background, args=(intake, ws.id, rate, stop, sent), daemon=True)
    load.start()
    t0: dict[str, float] = {}
    gap = seconds / probes
    for k in range(probes):
        time.sleep(gap)  # pacing the probes, not waiting for a result
        message = _view(f"probe{k}", time.time(), f"p{k}")
        t0[message["messageId"]] = time.time() * 1000
        _send(intake, ws.id, [message])
    stop.set()
    load.join()
    rate_seen = sent[0] / (time.monotonic() - began)
    return _latencies(c, ws.id, t0), rate_seen


def _latencies(
    c: Container, workspace_id: str, t0: dict[str, float]
) -> tuple[list[float], list[float]]:
    """(evaluated -> run started, handed to intake -> run started) per probe, in ms."""
    deadline = time.monotonic() + 120
    while True:
        fired = {f["event_id"]: f for f in c.playbooks.firings(workspace_id, "renewal-risk", 1000)}
        done = [e for e in t0 if fired.get(e, {}).get("status") == "started"]
        if len(done) == len(t0) or time.monotonic() > deadline:
            break  # probes not started by the deadline are reported as missing
        time.sleep(0.05)  # polling with a deadline
    stage = [float(fired[e]["started_ms"] - fired[e]["created_ms"]) for e in done]
    return stage, [fired[e]["started_ms"] - t0[e] for e in done]


def _view(user: str, at: float, mid: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "type": "page",
        "userId": user,
        "name": "Renewal Compare",
        "messageId": f"bench-{mid}",
        "properties": {"path": "/renewal/compare"},
        "timestamp": datetime.fromtimestamp(at, UTC).isoformat(),
    }


def _send(intake: Any, workspace_id: str, messages: list[dict[str, Any]]) -> None:
    for report in intake.ingest_lines(workspace_id, "bench", [orjson.dumps(m) for m in messages]):
        assert not report.rejected, report


def _background(
    intake: Any, workspace_id: str, rate: int, stop: threading.Event, sent: list[int]
) -> None:
    rng = random.Random(2)
    tick, batch = 0.05, max(1, rate // 20)
    next_at = time.monotonic()
    from datetime import UTC, datetime

    while not stop.is_set():
        stamp = datetime.now(UTC).isoformat()
        messages = [
            {
                "type": "track",
                "userId": f"user{rng.randrange(2000)}",
                "event": NAMES[rng.randrange(10)],
                "messageId": f"bg-{sent[0] + i}",
                "timestamp": stamp,
                "properties": {"path": f"/p{rng.randrange(25)}", "amount": rng.randrange(1000)},
            }
            for i in range(batch)
        ]
        _send(intake, workspace_id, messages)
        sent[0] += batch
        next_at += tick
        stop.wait(max(0.0, next_at - time.monotonic()))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latency_figures(
    prefix: str, measured: tuple[tuple[list[float], list[float]], float]
) -> dict[str, Any]:
    """The latency figures of one store, their names prefixed (``pg_`` for PostgreSQL)."""
    (lat, e2e), background = measured
    started = len(lat)
    lat, e2e = lat or [float("nan")], e2e or [float("nan")]
    figures = {
        "p50_ms": round(statistics.median(lat), 1),
        "p99_ms": round(_pct(lat, 0.99), 1),
        "intake_to_run_p50_ms": round(statistics.median(e2e), 1),
        "intake_to_run_p99_ms": round(_pct(e2e, 0.99), 1),
        "probes_started": started,
        "background_events_per_s": round(background),
    }
    return {prefix + k: v for k, v in figures.items()}


def run(quick: bool = False, as_json: bool = False) -> None:
    """Measure and print; with ``as_json`` the last line is one JSON object."""
    console = Console(stderr=as_json)
    n = 100_000 if quick else 400_000
    stream = events(n)
    cel_rate, cel_fired = throughput(Condition.compile, stream)
    lambda_rate, lambda_fired = throughput(_lambda, stream)
    assert cel_fired == lambda_fired, "CEL and lambda conditions must fire alike"
    # The throughput stream (100,000+ events and their activations) is the harness's, not
    # crmos's: drop it, or the latency run pays for garbage-collecting it over and over.
    del stream
    gc.collect()
    seconds, probes = (6.0, 40) if quick else (20.0, 100)
    figures: dict[str, Any] = {
        "events_per_s": round(cel_rate),
        "lambda_events_per_s": round(lambda_rate),
        "cel_to_lambda": round(cel_rate / lambda_rate, 3),
    }
    figures |= _latency_figures("", latency(seconds, probes))
    pg_url = os.environ.get("CRMOS_TEST_PG_URL")  # set by `make bench` / with-services.sh
    if pg_url:
        figures |= _latency_figures("pg_", latency(seconds, probes, pg_url=pg_url))
    figures |= {
        "playbooks": PLAYBOOKS,
        "profiles": PROFILES,
        "events": n,
        "firings": cel_fired,
        "probes": probes,
    }
    table = Table("figure", "value", title="crmos bench triggers")
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)
    if as_json:
        print(orjson.dumps(figures).decode())  # noqa: T201 - the machine-readable last line
