"""``crmos tiers status|move``: what lives in the hot, warm and cold tiers, and moving it now."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container

app = typer.Typer(
    help="Hot SQL, warm and cold Parquet tiers of the event log.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object.")]


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Events, files and bytes per tier; where the files go; the retention in force."""
    with container() as c:
        found = c.tiers.status()
    if as_json:
        print(json.dumps(found))  # noqa: T201 - machine-readable output
        return
    _table(found)


@app.command("move")
def move(as_json: JsonOpt = False) -> None:
    """Move every due event to warm, compact and expire, finish pending erasures (what a
    serving process does every ``tiers.interval_s``)."""
    with container() as c:
        report = c.tiers.run_once().as_dict()
        found = c.tiers.status()
    if as_json:
        print(json.dumps({**report, "status": found}))  # noqa: T201 - machine-readable output
        return
    console.print(", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in report.items()))
    _table(found)


def _table(found: dict[str, Any]) -> None:
    table = Table("tier", "events", "files", "bytes")
    for name, tier in found["tiers"].items():
        table.add_row(
            name, f"{tier['events']:,}", f"{tier.get('files', '-')}", f"{tier.get('bytes', '-')}"
        )
    console.print(table)
    policy = found["policy"]
    cold = f"{policy['cold_days']:g} d" if policy["cold_days"] else "kept"
    console.print(
        f"files under {found['root']}; hot {policy['hot_hours']:g} h, "
        f"warm {policy['warm_days']:g} d, cold {cold}{'' if policy['cold'] else ' (off)'}; "
        f"consumers are at seq {found['consumed_up_to_seq']}; "
        f"erasures pending: {found['pending_erasures']}"
    )
