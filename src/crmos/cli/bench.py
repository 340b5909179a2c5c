"""``crmos bench NAME``: benchmarks printing figures beside a reference measured alongside."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Benchmarks (print figures; --json for machine-readable output).", no_args_is_help=True
)

QuickOpt = Annotated[bool, typer.Option("--quick", help="A run of under a minute.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Last line: one JSON object of figures.")]
PgUrlOpt = Annotated[
    str | None,
    typer.Option("--pg-url", help="PostgreSQL server URL (default: CRMOS_TEST_PG_URL)."),
]


@app.command("ingest")
def ingest(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """HTTP batches and bulk import on SQLite and PostgreSQL, against a bare-insert ceiling."""
    from crmos.bench.ingest import run

    run(quick=quick, as_json=as_json)


@app.command("tiers")
def tiers(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Bytes per event hot/warm/cold, moves/s, history p95 across tiers vs hot, erasure s."""
    from crmos.bench.tiers import run

    run(quick=quick, as_json=as_json)


@app.command("agent")
def agent(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Intent F1 (zh, en), OCR accuracy, clause F1, interactions/s, beside same-run references."""
    from crmos.bench.agent import run

    run(quick=quick, as_json=as_json)


@app.command("compliance")
def compliance(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Erasure with proof, access export, validators/s, audit verify speed, beside references."""
    from crmos.bench.compliance import run

    run(quick=quick, as_json=as_json)


@app.command("identity")
def identity(
    quick: QuickOpt = False,
    as_json: JsonOpt = False,
    spark: Annotated[
        bool,
        typer.Option(
            "--spark",
            help="Also dedupe 1,000,000 records (20,000 with --quick) on DuckDB and on Spark.",
        ),
    ] = False,
    spark_records: Annotated[
        int | None, typer.Option("--spark-records", help="Records for --spark instead.")
    ] = None,
    names: Annotated[
        bool,
        typer.Option("--names", help="Also measure what each first-name level adds to recall."),
    ] = False,
) -> None:
    """Identity quality over a grid of demo worlds, events/s, merge latency, Febrl4."""
    from crmos.bench.identity import run

    records = spark_records or ((20_000 if quick else 1_000_000) if spark else 0)
    run(quick=quick, as_json=as_json, engines_records=records, names=names)


@app.command("graph-infer")
def graph_infer(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Inference rules events/s, typical and rule-heavy mixes, beside identity's rate."""
    from crmos.bench.graph_infer import run

    run(quick=quick, as_json=as_json)


@app.command("graph")
def graph(
    quick: QuickOpt = False,
    as_json: JsonOpt = False,
    nodes: Annotated[
        int | None, typer.Option(help="Graph size (default: 1M with --quick, else 5M).")
    ] = None,
) -> None:
    """2-hop and path p50/p99 on power-law graphs (SQLite, PostgreSQL, NetworkX), inference/s."""
    from crmos.bench.graph import run

    run(quick=quick, as_json=as_json, nodes=nodes)


@app.command("sagas")
def sagas(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Scenario 7 runs with faults and worker SIGKILLs (counted at the simulators), runs/s."""
    from crmos.bench.sagas import run

    run(quick=quick, as_json=as_json)


@app.command("triggers")
def triggers(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """50 playbooks over 100,000 profiles: events/s (CEL vs lambdas), fire-to-run p50/p99."""
    from crmos.bench.triggers import run

    run(quick=quick, as_json=as_json)


@app.command("console")
def console(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Profile list and search p95 and a 10,000-event profile through the app, beside a bare
    indexed SELECT."""
    from crmos.bench.console import run

    run(quick=quick, as_json=as_json)


@app.command("durability")
def durability(
    quick: QuickOpt = False,
    as_json: JsonOpt = False,
    pg_url: PgUrlOpt = None,
    kills: Annotated[
        int | None,
        typer.Option(
            help="SIGKILLs per store, shared by the topologies (default: 20 with --quick, else 60)."
        ),
    ] = None,
    topology: Annotated[
        list[str] | None,
        typer.Option(
            help="single (crmos serve runs the runs) or scale-out (crmos serve beside crmos "
            "worker processes); repeat it for both (the default)."
        ),
    ] = None,
) -> None:
    """A real crmos serve (and crmos workers in scale-out) under Segment SDK load, erasures,
    runs and CLI commands, killed with SIGKILL at random moments: acked events lost or
    duplicated, skipped events, integrity."""
    from crmos.bench.durability import run
    from crmos.bench.durability_topology import TOPOLOGIES

    chosen = tuple(topology or TOPOLOGIES)
    unknown = sorted(set(chosen) - set(TOPOLOGIES))
    if unknown:
        raise typer.BadParameter(f"unknown topology {', '.join(unknown)}; use single or scale-out")
    run(quick=quick, as_json=as_json, pg_url=pg_url, kills=kills, topologies=chosen)


@app.command("scaleout")
def scaleout(
    quick: QuickOpt = False,
    as_json: JsonOpt = False,
    pg_url: PgUrlOpt = None,
) -> None:
    """The partitioned stream on PostgreSQL: events/s with 1, 2 and 4 crmos workers, and a
    worker SIGKILLed under load split over two API nodes (failover, duplicates, lost)."""
    from crmos.bench.scaleout import run

    run(quick=quick, as_json=as_json, pg_url=pg_url)


@app.command("analytics")
def analytics(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """CLV fit on 100,000 customers and scoring 1,000,000 profiles; propensity AUC against a
    recency/frequency baseline on the demo world's held-out week, training and reasons time."""
    from crmos.bench.analytics import run

    run(quick=quick, as_json=as_json)


@app.command("all")
def run_all(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Every benchmark in turn."""
    ingest(quick=quick, as_json=as_json)
    identity(quick=quick, as_json=as_json)
    agent(quick=quick, as_json=as_json)
    compliance(quick=quick, as_json=as_json)
    graph(quick=quick, as_json=as_json)
    sagas(quick=quick, as_json=as_json)
    triggers(quick=quick, as_json=as_json)
    console(quick=quick, as_json=as_json)
    analytics(quick=quick, as_json=as_json)
    durability(quick=quick, as_json=as_json)


@app.command("sandbox")
def sandbox(quick: QuickOpt = False, as_json: JsonOpt = False) -> None:
    """Component call overhead in the sandbox vs in-process, and escapes of a hostile suite."""
    from crmos.bench.sandbox import run

    run(quick=quick, as_json=as_json)
