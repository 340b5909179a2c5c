"""The ``crmos`` command line."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from crmos.cli import (
    accounts,
    analytics,
    audit,
    bench,
    compliance,
    components,
    db,
    decisions,
    demo,
    dsr,
    events,
    graph,
    identity,
    identity_match,
    interactions,
    knowledge,
    playbooks,
    profiles,
    runs,
    sim,
    status,
    tiers,
)
from crmos.cli.common import console, container, find_workspace
from crmos.cli.files import event_lines
from crmos.core.errors import Problem
from crmos.core.settings import Settings, load_settings, masked

app = typer.Typer(
    name="crmos",
    help="crmos: a real-time, explainable customer operating system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workspace_app = typer.Typer(help="Workspaces and their API keys.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(config_app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(events.app, name="events")
app.add_typer(tiers.app, name="tiers")
app.add_typer(graph.app, name="graph")
app.add_typer(analytics.app, name="analytics")
app.add_typer(bench.app, name="bench")
identity_match.register(identity.app)  # match, dedupe, link: batch matching with Splink
app.add_typer(identity.app, name="identity")
app.add_typer(profiles.app, name="profiles")
app.add_typer(accounts.app, name="accounts")
app.add_typer(sim.app, name="sim")
app.add_typer(runs.app, name="runs")
app.add_typer(compliance.app, name="compliance")
app.add_typer(dsr.app, name="dsr")
app.add_typer(audit.app, name="audit")
app.add_typer(interactions.app, name="interactions")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(decisions.app, name="decisions")
app.add_typer(playbooks.app, name="playbooks")
app.add_typer(components.app, name="components")
app.command("worker")(runs.worker)
app.command("status")(status.status)
app.add_typer(demo.app, name="demo")


class Role(StrEnum):
    """What a ``crmos serve`` process runs."""

    all = "all"
    api = "api"
    worker = "worker"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port).")] = None,
    role: Annotated[
        Role,
        typer.Option(
            help="all: everything in one process; api: intake and console, no consumers; "
            "worker: lease stream partitions, run consumers and runs, no HTTP. api and worker "
            "partition the stream (PostgreSQL)."
        ),
    ] = Role.all,
) -> None:
    """Migrate the store, then serve the API and dashboard."""
    if role is Role.worker:
        runs.worker(executor_id=None, concurrency=None, partitioned=True)
        return
    run_server(host, port, role.value)


def run_server(host: str | None, port: int | None, role: str = "all") -> None:
    """Serve until interrupted (the store is migrated first)."""
    import uvicorn

    from crmos.web import create_app

    stream = {"partitioned": True, "role": role} if role != "all" else None
    with container(migrate=True, stream=stream) as c:
        bind_host = host or c.settings.server.host
        bind_port = port or c.settings.server.port
        console.print(f"crmos serving on [bold]http://{bind_host}:{bind_port}[/]")
        api = create_app(c)
        _tune_interpreter()
        uvicorn.run(api, host=bind_host, port=bind_port, log_level="warning", access_log=False)


# How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms).
# The intake writer thread gives the GIL up for every row SQLite inserts and for every commit;
# with the default it then waits up to 5 ms each time for the event loop thread, which is
# busy decoding the next requests, so a group of a few hundred events took seconds to write.
_SWITCH_INTERVAL_S = 0.0002


def _tune_interpreter() -> None:
    """Process-wide settings for a long-running server (not for the library's callers)."""
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    # Everything built at start-up (modules, the app, SQLAlchemy's caches) lives as long as the
    # process: keep it out of the garbage collector's full passes over the heap.
    gc.collect()
    gc.freeze()


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl or .csv")],
    workspace: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
    source: Annotated[str, typer.Option(help="Touchpoint of events without one.")] = "import",
    show: Annotated[int, typer.Option(help="Print at most this many problems.")] = 20,
) -> None:
    """Bulk-import events through the same validation as the HTTP intake."""
    from rich.progress import Progress

    with container() as c:
        ws = find_workspace(c, workspace)
        accepted = duplicates = rejected = 0
        problems: list[Problem] = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"ingesting {file.name}", total=file.stat().st_size)

            def counted(lines: Iterable[bytes]) -> Iterable[bytes]:
                for line in lines:
                    progress.advance(task, len(line) + 1)
                    yield line

            for report in c.ingest().ingest_lines(ws.id, source, counted(event_lines(file))):
                accepted += report.accepted
                duplicates += report.duplicates
                rejected += report.rejected
                problems.extend(report.problems[: max(0, show - len(problems))])
        for problem in problems:
            console.print(f"[yellow]rejected[/] {problem.path}: {problem.message}", highlight=False)
        console.print(f"accepted {accepted}, duplicates {duplicates}, rejected {rejected}")


@workspace_app.command("create")
def workspace_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a workspace; prints its write key (intake only) and admin key, once."""
    with container() as c:
        ws, write, admin = c.workspaces.create(name)
    out = {
        "workspace_id": ws.id,
        "name": ws.name,
        "write_key": write.secret,
        "admin_key": admin.secret,
    }
    if as_json:
        print(json.dumps(out))  # noqa: T201 - machine-readable output
        return
    console.print(f"workspace [bold]{ws.name}[/] ({ws.id})")
    console.print(f"write key (intake only):      {write.secret}")
    console.print(f"admin key (read,write,admin): {admin.secret}")
    console.print("[dim]Keys are stored hashed: this is the only time they are shown.[/]")


@workspace_app.command("list")
def workspace_list() -> None:
    """List workspaces."""
    with container() as c:
        table = Table("id", "name")
        for ws in c.workspaces.list():
            table.add_row(ws.id, ws.name)
    console.print(table)


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings (secrets masked) with what each one means."""
    settings = load_settings()
    data = masked(settings)
    if as_json:
        print(json.dumps(data, indent=2))  # noqa: T201 - machine-readable output
        return
    table = Table("setting", "value", "env variable", "meaning")
    for path, value, description in _walk(Settings, data):
        env = "CRMOS__" + path.upper().replace(".", "__")
        table.add_row(path, json.dumps(value), env, description)
    console.print(table)


def _walk(model: type, data: dict[str, object], prefix: str = "") -> list[tuple[str, object, str]]:
    from pydantic import BaseModel

    rows: list[tuple[str, object, str]] = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_walk(annotation, data[name], f"{prefix}{name}."))  # type: ignore[arg-type]
        else:
            rows.append((f"{prefix}{name}", data[name], info.description or ""))
    return rows


def main() -> None:
    """Entry point of the ``crmos`` script."""
    app()
