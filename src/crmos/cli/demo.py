"""``crmos demo``: the demo world with every system its scenarios reach, acted out, then served.

``crmos demo scenarios`` lists the twelve scenarios of the design as the stored state shows them.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from crmos.bootstrap import Container, build
from crmos.cli.common import EXIT_CODES, console, container, err_console
from crmos.core.clock import utcnow
from crmos.core.errors import CrmosError
from crmos.core.settings import ConnectorSettings, Settings, load_settings
from crmos.demo import generate
from crmos.demo.director import configure, play
from crmos.demo.eraser import GROUND_TRUTH, forget_erased
from crmos.demo.scenarios import Outcome, evaluate, unexpected_runs
from crmos.demo.stage import Stage
from crmos.store import Workspace

if TYPE_CHECKING:
    from fastapi import FastAPI

DEMO_WORKSPACE = "demo"

app = typer.Typer(help="The demo world: every scenario of the design, acted out and checked.")


@app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool,
        typer.Option(help="Serve the API and console afterwards; --no-serve checks and exits."),
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the generated world.")] = 7,
    people: Annotated[int, typer.Option(help="How many people the world has (20 or more).")] = 120,
    deadline: Annotated[
        float, typer.Option(help="Seconds to wait for the runs and requests it starts.")
    ] = 120.0,
    host: Annotated[str | None, typer.Option(help="Interface (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port).")] = None,
) -> None:
    """Start the simulators and sinks, configure the demo workspace, act the world out, print
    the twelve scenarios, then serve until interrupted (the counterparts stop with it).

    With --no-serve the exit status is 1 when a scenario failed. Idempotent: message ids
    derive from the seed, so a second run stores nothing twice and starts no run again.
    """
    if ctx.invoked_subcommand is not None:
        return
    base = load_settings()
    with Stage(base.home / "demo") as stage:
        wired = ConnectorSettings.model_validate(base.connectors.model_dump() | stage.connectors())
        settings = base.model_copy(update={"connectors": wired})
        with _container(settings) as c:
            ws = _demo_workspace(c)
            c.start_workers()
            outcomes = _act(c, ws, stage, seed, people, deadline, host, port)
            failed = not all(o.ok for o in outcomes) or bool(unexpected_runs(c, ws.id))
            if not serve:
                sys.exit(1 if failed else 0)
        _serve(settings, host, port)


@app.command("scenarios")
def scenarios(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """The twelve scenarios of the design as the stored state shows them: ok or failed, why,
    and where to look. Exit status 1 when one failed."""
    with container() as c:
        ws = c.workspaces.by_name(DEMO_WORKSPACE)
        if ws is None:
            err_console.print("no demo workspace here yet; run `crmos demo` first")
            raise typer.Exit(66)
        outcomes = evaluate(c, ws.id, _link(c, None, None))
        surprises = unexpected_runs(c, ws.id)
    if as_json:
        scenarios = [o.as_dict() for o in outcomes]
        data = {"scenarios": scenarios, "ok": sum(o.ok for o in outcomes)}
        console.print_json(json.dumps(data | {"unexpected_runs": surprises}, ensure_ascii=False))
    else:
        _print(outcomes, surprises)
    if surprises or not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def _act(
    c: Container,
    ws: Workspace,
    stage: Stage,
    seed: int,
    people: int,
    deadline: float,
    host: str | None,
    port: int | None,
) -> list[Outcome]:
    published = configure(c, ws.id, stage.downstream())
    if published:
        console.print(f"example playbooks in force: {', '.join(published)}")
    end = utcnow().replace(minute=0, second=0, microsecond=0)
    out = c.settings.home / "demo"
    # People erased by an earlier run stay erased: their events are not played again.
    world = forget_erased(generate(seed=seed, people=people, now=end), out)
    _write_ground_truth(out / GROUND_TRUTH, world.ground_truth())
    console.print(
        f"demo world: {len(world.companies)} companies, {len(world.people)} people, "
        f"{len(world.events)} events; ground truth in {out / GROUND_TRUTH}"
    )
    played = play(c, ws.id, world, end, deadline, say=console.print)
    console.print(
        f"{played.accepted} events stored, {played.duplicates} already there, "
        f"{played.rejected} refused at intake; {len(played.runs_started)} runs started"
    )
    if not played.settled:
        err_console.print(f"some work was still going after {deadline:g} s (--deadline)")
    outcomes = evaluate(c, ws.id, _link(c, host, port))
    _print(outcomes, unexpected_runs(c, ws.id))
    _announce(c, host, port)
    return outcomes


def _print(outcomes: list[Outcome], surprises: list[str]) -> None:
    table = Table(title="The twelve scenarios of the design", show_lines=True)
    for column in ("#", "scenario", "what happened", "where to look", "status"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        status = "[green]ok[/]" if o.ok else f"[red]failed[/]: {o.reason}"
        where = [o.console, *o.where] if o.console else o.where
        table.add_row(str(o.number), o.name, o.happened, "\n".join(where), status)
    console.print(table)
    ok = sum(o.ok for o in outcomes)
    console.print(
        f"{ok}/{len(outcomes)} scenarios ok", style="green" if ok == len(outcomes) else "red"
    )
    if surprises:
        console.print("runs that ended badly although no scenario expects it:", style="red")
        for line in surprises:
            console.print(f"  {line}", highlight=False)
    else:
        console.print(
            "every run ended as its scenario expects (only globex's agreement rolls back)"
        )


def _link(c: Container, host: str | None, port: int | None) -> str:
    return f"http://{host or c.settings.server.host}:{port or c.settings.server.port}"


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    """Serve the demo's container; the app starts its workers and closes it on the way out."""
    import uvicorn

    from crmos.web import create_app

    with _container(settings) as c:
        bind_host = host or c.settings.server.host
        bind_port = port or c.settings.server.port
        console.print(f"crmos serving on [bold]http://{bind_host}:{bind_port}[/] (Ctrl-C stops)")
        app = create_app(c)
        attach_demo(app, c)
        uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning")


def attach_demo(app: FastAPI, c: Container) -> bool:
    """When the store holds the demo workspace, serve ``/api/v1/demo`` and make the console's
    start page list the twelve scenarios for it (`crmos demo` and `crmos serve` alike).
    Whether it did."""
    ws = c.workspaces.by_name(DEMO_WORKSPACE)
    if ws is None:
        return False
    from crmos.demo.api import attach

    attach(app, c, ws.id)
    return True


@contextmanager
def _container(settings: Settings) -> Iterator[Container]:
    """A container built from the demo's settings; crmos errors become an exit code."""
    built: Container | None = None
    try:
        built = build(settings, migrate_store=True)
        yield built
    except CrmosError as exc:
        err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        sys.exit(next(code for cls, code in EXIT_CODES if isinstance(exc, cls)))
    finally:
        if built is not None:
            built.close()


def _announce(c: Container, host: str | None, port: int | None) -> None:
    """Tell where the demo keys are, with a dashboard link that signs in with the admin key."""
    path = c.settings.home / "demo-keys.json"
    if not path.exists():
        return
    keys = json.loads(path.read_text())
    console.print(f"demo keys in {path}; `crmos demo scenarios` lists the scenarios again")
    # The key travels in the URL fragment, which browsers never send to the server.
    link = f"{_link(c, host, port)}/#key={keys['admin_key']}"
    console.print(f"console: {link}", soft_wrap=True, highlight=False)
    console.print("  (signs in with the admin key and opens the twelve scenarios)", highlight=False)


def _demo_workspace(c: Container) -> Workspace:
    """The demo workspace; its keys are kept in HOME/demo-keys.json (mode 0600) for the tour."""
    existing = c.workspaces.by_name(DEMO_WORKSPACE)
    if existing is not None:
        return existing
    ws, write, admin = c.workspaces.create(DEMO_WORKSPACE)
    path: Path = c.settings.home / "demo-keys.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"workspace_id": ws.id, "write_key": write.secret, "admin_key": admin.secret}, fh)
    return ws


def _write_ground_truth(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["person_id"])
        writer.writeheader()
        writer.writerows(rows)
