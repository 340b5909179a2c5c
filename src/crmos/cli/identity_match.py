"""``crmos identity match | dedupe | link``: batch probabilistic matching with Splink.

``crmos.cli.main`` adds them to the ``crmos identity`` app with ``register`` (this module does not
import ``crmos.cli.identity``, so the two never import each other).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import EXIT_CODES, console, container, err_console, find_workspace
from crmos.core.errors import CrmosError

IdColumn = Annotated[
    str, typer.Option("--id-column", help="Column holding each record's unique id.")
]
SettingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        exists=True,
        dir_okay=False,
        help="JSON or YAML: column kinds, blocking rules, threshold, or Splink settings.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


class Engine(StrEnum):
    """Where Splink runs."""

    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[
    Engine,
    typer.Option("--engine", help="duckdb (this process) or spark (Splink's Spark backend)."),
]
MasterOpt = Annotated[
    str,
    typer.Option(
        "--spark-master",
        help="Spark master URL for --engine spark: local[*] (every core here) or spark://HOST:7077.",
    ),
]


def _options(engine: Engine, master: str) -> Any:
    """Engine options for the chosen engine (the defaults for DuckDB)."""
    from crmos.identity.matching import EngineOptions

    return EngineOptions(engine=engine.value, spark_master=master)


def register(app: typer.Typer) -> None:
    """Add ``match``, ``dedupe`` and ``link`` to the ``crmos identity`` app."""
    app.command("match")(match)
    app.command("dedupe")(dedupe)
    app.command("link")(link)


@contextmanager
def _errors() -> Iterator[None]:
    """crmos errors as a message and an exit code; Splink's progress chatter kept quiet."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    try:
        yield
    except CrmosError as exc:
        err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        for problem in getattr(exc, "problems", [])[:20]:
            err_console.print(f"  {problem.path}: {problem.message}", highlight=False)
        sys.exit(next(code for cls, code in EXIT_CODES if isinstance(exc, cls)))


def dedupe(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV to deduplicate.")],
    id_column: IdColumn,
    out: Annotated[Path, typer.Option("--out", help="Write rec_id,cluster_id here.")],
    settings: SettingsOpt = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Match probability that joins two records [0.9]."),
    ] = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = Engine.duckdb,
    spark_master: MasterOpt = "local[*]",
) -> None:
    """Find records of the same entity in one CSV; write a cluster id per record."""
    from crmos.identity.matching import dedupe_file

    with _errors():
        options = _options(engine, spark_master)
        report = dedupe_file(
            file, id_column, out, settings=settings, threshold=threshold, options=options
        )
    _show(report, out, as_json, f"{report.clusters:,} clusters")


def link(
    left: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="First CSV.")],
    right: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Second CSV.")],
    id_column: IdColumn,
    out: Annotated[Path, typer.Option("--out", help="Write left_id,right_id,probability.")],
    settings: SettingsOpt = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Least match probability written [0.5]."),
    ] = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = Engine.duckdb,
    spark_master: MasterOpt = "local[*]",
) -> None:
    """Link the records of two CSV files that describe the same entity."""
    from crmos.identity.matching import link_files

    with _errors():
        options = _options(engine, spark_master)
        report = link_files(
            left, right, id_column, out, settings=settings, threshold=threshold, options=options
        )
    _show(report, out, as_json, f"{report.pairs:,} links")


def _show(report: Any, out: Path, as_json: bool, found: str) -> None:
    from crmos.identity.matching import plan_dict

    if as_json:
        data = {
            "out": str(out),
            "records": report.records,
            "pairs": report.pairs,
            "clusters": report.clusters,
            "threshold": report.threshold,
            "seconds": round(report.seconds, 3),
            "trained": report.trained,
            "plan": plan_dict(report.plan),
            "blocking_rules": {c.rule.label: c.pairs for c in report.rules},
        }
        print(json.dumps(data))  # noqa: T201 - machine-readable output
        return
    _plan_table(report.plan)
    rules = ", ".join(f"{c.rule.label} ({c.pairs:,} pairs)" for c in report.rules)
    console.print(f"blocking on: {rules or 'the settings file'}", highlight=False)
    console.print(
        f"{report.records:,} records, {found} at p >= {report.threshold} in "
        f"{report.seconds:.1f}s -> [bold]{out}[/]",
        highlight=False,
    )


def _plan_table(plan: Any) -> None:
    table = Table("column", "compared as", "why")
    for role in plan.roles:
        table.add_row(role.column, role.kind, role.reason)
    for column, why in plan.ignored:
        table.add_row(column, "[dim]not compared[/]", why)
    console.print(table)


def match(
    workspace: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = Engine.duckdb,
    spark_master: MasterOpt = "local[*]",
) -> None:
    """Match the workspace's profiles: merge sure pairs, send likely ones to review."""
    from crmos.identity.matching import match_workspace, plan_dict

    with _errors(), container() as c:
        ws = find_workspace(c, workspace)
        options = _options(engine, spark_master)
        result = match_workspace(c.engine, ws.id, c.settings.identity, options=options)
    data: dict[str, Any] = {
        "run_id": result.run_id,
        "profiles": result.profiles,
        "pairs": result.pairs,
        "merged": result.merged,
        "reviews": result.reviews,
        "seen_before": result.seen_before,
        "seconds": round(result.seconds, 3),
    }
    if as_json:
        data["plan"] = plan_dict(result.plan) if result.plan else None
        print(json.dumps(data))  # noqa: T201 - machine-readable output
        return
    if result.plan is not None:
        _plan_table(result.plan)
    console.print(
        f"{result.profiles:,} profiles, {result.pairs:,} likely pairs: {result.merged:,} "
        f"merged, {result.reviews:,} sent to review (`GET /api/v1/identity/review`), "
        f"{result.seen_before:,} suggested before; run {result.run_id}",
        highlight=False,
    )
