"""``crmos status``: where the stream's consumers stand, who holds which partition, who is alive."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Connection

from crmos.bootstrap import Container
from crmos.cli.common import console, container
from crmos.core.clock import now_ms
from crmos.store import get_offset, is_sqlite, log_head
from crmos.store import partitions as parts


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Consumer lag (per partition on a partitioned stream), leases and workers."""
    with container() as c:
        report = stream_status(c)
    if as_json:
        console.print_json(json.dumps(report))
        return
    _print(report)


def stream_status(c: Container) -> dict[str, Any]:
    """The stream's state as plain data (what ``crmos status --json`` prints)."""
    names = c.stream.names
    with c.engine.connect() as conn:
        head = log_head(conn)
        single = {n: max(0, head - get_offset(conn, n)) for n in names}
        if is_sqlite(c.engine):
            return {"mode": "single", "head": head, "lag": single, "leases": [], "workers": []}
        return _partitioned(conn, names, head)


def _partitioned(conn: Connection, names: list[str], head: int) -> dict[str, Any]:
    now = now_ms()
    lag = parts.lags(conn, names)
    leases = [
        {"part": int(r.part), "owner": r.owner or None, "expires_in_ms": r.expires_ms - now,
         "claims": int(r.claims)}
        for r in parts.leases(conn)
    ]  # fmt: skip
    workers = [
        {"worker_id": r.worker_id, "host": r.host, "pid": int(r.pid), "role": r.role,
         "last_heartbeat_ms_ago": now - int(r.heartbeat_ms),
         "partitions": sum(1 for x in leases if x["owner"] == r.worker_id)}
        for r in parts.workers(conn)
    ]  # fmt: skip
    return {
        "mode": "partitioned",
        "head": head,
        "lag": {n: sum(per.values()) for n, per in lag.items()},
        "lag_per_partition": {
            n: {str(p): k for p, k in per.items() if k} for n, per in lag.items()
        },
        "leases": leases,
        "workers": workers,
    }


def _print(report: dict[str, Any]) -> None:
    console.print(f"stream: [bold]{report['mode']}[/], log head seq {report['head']}")
    table = Table("consumer", "lag (events)", "partitions behind")
    per = report.get("lag_per_partition", {})
    for name, n in report["lag"].items():
        table.add_row(name, str(n), ", ".join(sorted(per.get(name, {}), key=int)) or "-")
    console.print(table)
    if report["workers"]:
        workers = Table("worker", "role", "host", "pid", "partitions", "heartbeat ms ago")
        for w in report["workers"]:
            workers.add_row(
                w["worker_id"], w["role"], w["host"], str(w["pid"]), str(w["partitions"]),
                str(w["last_heartbeat_ms_ago"]),
            )  # fmt: skip
        console.print(workers)
    held = [x for x in report["leases"] if x["owner"] and x["expires_in_ms"] > 0]
    if report["leases"]:
        console.print(f"leases: {len(held)} of {len(report['leases'])} partitions held")
