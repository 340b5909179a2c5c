"""Inference throughput for ``crmos bench graph``: events through the graph consumer.

A fresh SQLite store takes ``n`` events of a realistic mix (page views, product views,
webinars, API-docs dwell, section expansions, group and identify calls, funding news, app
opens with a device); identity stitches them first (timed: the upstream reference), then the
graph consumer alone runs every shipped rule over them (timed).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection

from crmos.bootstrap import build
from crmos.core.event import Event
from crmos.core.settings import Settings, StoreSettings
from crmos.identity import Stitcher
from crmos.ingest import Consumer, StreamRunner


class _Noop(Consumer):
    """A consumer that does nothing: the stream's own cost of reading and decrypting events."""

    name = "bench_noop"

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Nothing."""


KINDS = ("page", "product", "webinar", "dwell", "expand", "group", "identify", "funding", "app")
# Share of each kind. "heavy": 28% of events feed a rule; "typical": 5% (web traffic is mostly
# page and product views).
MIXES = {
    "heavy": (0.40, 0.15, 0.10, 0.08, 0.08, 0.05, 0.05, 0.02, 0.07),
    "typical": (0.60, 0.20, 0.02, 0.01, 0.015, 0.03, 0.05, 0.005, 0.07),
}


def _message(rng: random.Random, i: int, users: int, at: datetime, kind: str) -> dict[str, Any]:
    user = rng.randrange(users)
    base: dict[str, Any] = {"messageId": f"b{i}", "userId": f"u{user}", "timestamp": at.isoformat()}
    track = base | {"type": "track"}
    if kind == "page":
        return base | {"type": "page", "name": "Pricing", "properties": {"path": "/pricing"}}
    if kind == "product":
        return track | {"event": "Product Viewed", "properties": {"sku": "x"}}
    if kind == "webinar":
        props: dict[str, Any] = {"occasion_id": f"o{rng.randrange(50)}"}
        return track | {"event": "Webinar Attended", "properties": props}
    if kind == "dwell":
        props = {"path": "/docs/api/auth", "seconds": rng.randrange(20, 150)}
        return track | {"event": "Docs Dwell", "properties": props}
    if kind == "expand":
        return track | {"event": "Section Expanded", "properties": {"section": "integration"}}
    if kind == "group":
        return base | {
            "type": "group",
            "groupId": f"a{user % 200}",
            "traits": {"name": "Co"},
        }
    if kind == "identify":
        return base | {"type": "identify", "traits": {"plan": "pro"}}
    if kind == "funding":
        props = {"account_id": f"a{rng.randrange(200)}"}
        return track | {"event": "Funding Announced", "properties": props}
    context = {"device": {"id": f"d{user}-{user % 3}"}}  # people keep their devices
    return track | {"event": "App Opened", "context": context}


def inference_rate(n: int, mix: str = "typical", per_user: int = 10) -> dict[str, float]:
    """Events/s of the graph consumer and of identity on the same ``n`` events, about
    ``per_user`` events per person (each person's first events create their nodes and edges).
    """
    rng = random.Random(5)
    kinds = rng.choices(KINDS, weights=MIXES[mix], k=n)
    start = datetime.now(UTC) - timedelta(days=2)
    with tempfile.TemporaryDirectory(prefix="crmos-bench-infer-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'infer.db'}"
        c = build(Settings(home=Path(tmp), store=StoreSettings(url=url)), migrate_store=True)
        try:
            ws, _, _ = c.workspaces.create("bench")
            lines = [
                orjson.dumps(
                    _message(rng, i, max(n // per_user, 10), start + timedelta(seconds=i), k)
                )
                for i, k in enumerate(kinds)
            ]
            for report in c.ingest().ingest_lines(ws.id, "bench", lines):
                assert report.rejected == 0, report.problems
            assert c.graph is not None
            rates = {}
            consumers: list[tuple[str, Consumer]] = [
                ("read_only", _Noop()),
                ("identity", Stitcher(c.settings.identity)),
                ("graph", c.graph.consumer()),
            ]
            for name, consumer in consumers:
                runner = StreamRunner(c.engine, c.log, c.reader, [consumer])
                t = time.perf_counter()
                handled = runner.run_once()
                rates[name] = handled / (time.perf_counter() - t)
            return rates
        finally:
            c.close()


def run(quick: bool = False, as_json: bool = False) -> dict[str, Any]:
    """``crmos bench graph-infer``: the inference part of ``crmos bench graph`` alone, both
    mixes, each beside identity and the bare stream read on the same events (same run)."""
    n = 5_000 if quick else 15_000
    rows = {mix: inference_rate(n * (2 if mix == "typical" else 1), mix) for mix in MIXES}
    table = Table(title="graph inference (events/s, SQLite, one process)")
    for column in ("mix", "graph rules", "identity", "stream read", "target"):
        table.add_column(column, justify="right", no_wrap=True)
    for mix, r in rows.items():
        share = "28%" if mix == "heavy" else "5%"
        table.add_row(
            f"{mix}, {share} match",
            f"{r['graph']:,.0f}",
            f"{r['identity']:,.0f}",
            f"{r['read_only']:,.0f}",
            "≥ 10,000",
        )
    Console().print(table)
    figures = {
        "inference_events_per_s": round(rows["typical"]["graph"]),
        "inference_heavy_mix_events_per_s": round(rows["heavy"]["graph"]),
        "identity_events_per_s": round(rows["typical"]["identity"]),
        "stream_read_events_per_s": round(rows["typical"]["read_only"]),
    }
    if as_json:
        print(json.dumps(figures))  # noqa: T201 - the benchmark's machine-readable last line
    return figures
