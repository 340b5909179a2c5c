"""``crmos runs list|show|start|retry|cancel|actions`` and ``crmos worker``."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from crmos.cli.common import console, container, find_workspace, print_table
from crmos.core.errors import Problem, ValidationError
from crmos.sagas import RunDetail, RunInfo

app = typer.Typer(help="Runs of sagas: start, follow, retry, cancel.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
STYLE = {
    "completed": "green",
    "compensated": "yellow",
    "cancelled": "yellow",
    "needs_attention": "bold red",
    "ok": "green",
    "taken": "green",
}


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))  # noqa: T201 - machine-readable output


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _status(status: str) -> str:
    style = STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


@app.command("list")
def list_runs(
    workspace: WorkspaceOpt = None,
    status: Annotated[str | None, typer.Option(help="Only runs in this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest runs."""
    with container() as c:
        ws = find_workspace(c, workspace)
        runs = c.runs.find(ws.id, status, limit)
    if as_json:
        _print_json([r.as_dict() for r in runs])
        return
    table = Table("id", "name", "status", "created (UTC)", "ms", "reason")
    for run in runs:
        took = "-" if run.ended_ms is None else str(run.ended_ms - run.created_ms)
        reason = (run.reason or "")[:60]
        table.add_row(run.id, run.name, _status(run.status), _when(run.created_ms), took, reason)
    print_table(table, ids=("id",))


@app.command("show")
def show(run_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """A run's steps and timeline (attempts, compensations, outcomes, decisions)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        detail = c.runs.get(ws.id, run_id)
    if as_json:
        _print_json(detail.as_dict())
        return
    _show(detail)


def _show(detail: RunDetail) -> None:
    run = detail.run
    console.print(f"run [bold]{run.id}[/] {run.name}: {_status(run.status)}", highlight=False)
    console.print(f"trace {run.trace_id}", style="dim")
    if run.reason:
        console.print(f"reason: {run.reason}", highlight=False)
    steps = Table("step", "action", "status", "attempts", "compensation", "outcome")
    for s in detail.steps:
        steps.add_row(
            s.step_id,
            s.action,
            _status(s.status),
            str(s.attempts),
            s.compensation or "-",
            s.outcome or "-",
        )
    console.print(steps)
    timeline = Table("at (UTC)", "step", "phase", "attempt", "status", "ms", "error")
    for e in detail.timeline:
        timeline.add_row(
            _when(e.started_ms),
            e.step_id,
            e.phase,
            str(e.attempt),
            _status(e.status),
            str(e.duration_ms),
            (e.error or "")[:70],
        )
    console.print(timeline)


@app.command("start")
def start(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Run as YAML/JSON.")],
    workspace: WorkspaceOpt = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the end (0: none).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Validate a run (every problem is listed) and queue it for the engine."""
    with container() as c:
        raw = _read_run(file)
        ws = find_workspace(c, workspace)
        run = c.runs.start(ws.id, raw)
        if wait > 0:
            run = c.runs.wait(ws.id, run.id, wait)
    _report(run, as_json)


def _read_run(file: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ValidationError(f"{file} is not YAML or JSON", [Problem(where, str(exc))]) from exc
    if not isinstance(raw, dict):
        problem = Problem("(file)", "expected one mapping with name, input and steps")
        raise ValidationError(f"{file} holds no run", [problem])
    return raw


@app.command("retry")
def retry(run_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Repair a run that needs attention, or start a compensated or cancelled one again."""
    with container() as c:
        run = c.runs.retry(find_workspace(c, workspace).id, run_id)
    _report(run, as_json)


@app.command("cancel")
def cancel(run_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Stop a run before its next step; what it did is compensated."""
    with container() as c:
        run = c.runs.cancel(find_workspace(c, workspace).id, run_id)
    _report(run, as_json)


def _report(run: RunInfo, as_json: bool) -> None:
    if as_json:
        _print_json(run.as_dict())
        return
    console.print(f"run [bold]{run.id}[/]: {_status(run.status)}", highlight=False)
    if run.reason:
        console.print(f"reason: {run.reason}", highlight=False)


@app.command("actions")
def actions(as_json: JsonOpt = False) -> None:
    """The actions steps may use, and where each comes from."""
    with container(migrate=False) as c:
        registry = c.runs.registry
        rows: list[dict[str, Any]] = [
            {
                "name": a.name,
                "origin": registry.origin(a.name),
                "params": sorted(a.params.model_fields),
            }
            for a in registry
        ]
    if as_json:
        _print_json(rows)
        return
    table = Table("action", "params", "from")
    for row in rows:
        table.add_row(row["name"], ", ".join(row["params"]), row["origin"])
    console.print(table)


def worker(
    executor_id: Annotated[
        str | None, typer.Option(help="Stable id of this worker (default: sagas.executor_id).")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Runs at once.")] = None,
    partitioned: Annotated[
        bool,
        typer.Option(
            "--partitioned",
            help="Also lease stream partitions and run the consumers, timers and sweepers "
            "(PostgreSQL scale-out; the default when stream.partitioned is set).",
        ),
    ] = False,
) -> None:
    """Execute runs (scale-out): resumes this worker's interrupted runs, then takes new ones.

    With a partitioned stream it is a full worker: it leases partitions of the event log and
    runs every consumer on them (``crmos serve --role worker`` is the same)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stream = {"partitioned": True} if partitioned else {}
    with container(stream={**stream, "role": "worker"}) as c:
        changes: dict[str, Any] = {}
        if executor_id:
            changes["executor_id"] = executor_id
        if concurrency:
            changes["concurrency"] = concurrency
        c.settings.sagas = c.settings.sagas.model_copy(update=changes)
        if c.settings.stream.partitioned:
            c.start_workers()  # the stream's partitions, timers, sweepers (no intake)
            console.print(
                f"crmos worker {c.settings.stream.worker_id or 'stream'} leasing partitions",
                highlight=False,
            )
        c.start_engine()
        sagas = c.settings.sagas
        console.print(
            f"crmos worker [bold]{sagas.executor_id}[/] executing runs "
            f"({sagas.concurrency} at once); Ctrl-C stops it",
            highlight=False,
        )
        stop.wait()
