"""``crmos bench NAME``: benchmarks printing figures beside a reference measured alongside."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Benchmarks (print figures; --json for machine-readable output).", no_args_is_help=True
)

QuickOpt = Annotated[bool, typer.Option("--quick", help="A run of under a minute.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Last line: one JSON object of figures.")]


@app.command("ingest")
def ingest(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """HTTP batches and bulk import on SQLite and PostgreSQL, against a bare-insert ceiling."""
    from crmos.bench.ingest import run

    run(quick=quick, as_json=as_json)


@app.command("all")
def run_all(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Every benchmark in turn."""
    ingest(quick=quick, as_json=as_json)
