"""``crmos playbooks validate|publish|show|history|diff|rollback|dry-run|list|firings|...``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container, err_console, find_workspace, print_table
from crmos.core.errors import ValidationError
from crmos.core.settings import load_settings
from crmos.playbooks import Version, json_schema, load_components
from crmos.playbooks.spec import parse
from crmos.triggers import parse_duration

app = typer.Typer(
    help="Playbooks: validate, publish, show, diff, roll back, dry-run.", no_args_is_help=True
)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Playbook YAML file.")]


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))  # noqa: T201 - machine output


def _when(ms: int | None) -> str:
    return (
        "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    )


def _parse_at(text: str) -> int:
    """``2026-03-01T00:00Z`` (or any ISO 8601) -> epoch ms."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        err_console.print(f"[red]--at '{text}' is not ISO 8601; write e.g. 2026-03-01T00:00Z[/]")
        raise typer.Exit(64) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    as_json: JsonOpt = False,
) -> None:
    """Check playbook files; every problem is printed with its YAML path."""
    settings = load_settings()
    registry = load_components()
    retention = settings.playbooks.retention_days * 86_400_000
    results: list[dict[str, Any]] = []
    for path in files:
        try:
            playbook = parse(path.read_text("utf-8"), registry, retention)
            results.append(
                {"file": str(path), "ok": True, "id": playbook.id, "hash": playbook.hash}
            )
        except ValidationError as exc:
            problems = [p.as_dict() for p in exc.problems]
            results.append({"file": str(path), "ok": False, "problems": problems})
    if as_json:
        _print_json(results)
    else:
        for result in results:
            if result["ok"]:
                console.print(
                    f"[green]ok[/] {result['file']}: {result['id']} @ {result['hash'][:12]}"
                )
                continue
            console.print(f"[red]invalid[/] {result['file']}: {len(result['problems'])} problem(s)")
            for problem in result["problems"]:
                console.print(
                    f"  {problem['path']}: {problem['message']}", markup=False, highlight=False
                )
    if not all(r["ok"] for r in results):
        sys.exit(65)


@app.command()
def publish(
    file: FileArg,
    workspace: WorkspaceOpt = None,
    author: Annotated[str, typer.Option(help="Who publishes.")] = "cli",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Validate and put in force an immutable version of FILE."""
    with container() as c:
        ws = find_workspace(c, workspace)
        version = c.playbooks.publish(ws.id, file.read_text("utf-8"), author, comment)
    _show_version(version, as_json, source=False)


@app.command()
def show(
    playbook_id: str,
    workspace: WorkspaceOpt = None,
    at: Annotated[str | None, typer.Option(help="The version in force then (ISO 8601).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the version in force now, or at --at."""
    with container() as c:
        ws = find_workspace(c, workspace)
        version = c.playbooks.in_force(ws.id, playbook_id, _parse_at(at) if at else None)
    _show_version(version, as_json, source=True)


@app.command()
def history(playbook_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every published version of a playbook."""
    with container() as c:
        ws = find_workspace(c, workspace)
        found = c.playbooks.history(ws.id, playbook_id)
    if as_json:
        _print_json([v.as_dict() for v in found])
        return
    table = Table("hash", "published", "author", "comment")
    for v in found:
        table.add_row(v.hash[:12], _when(v.created_ms), v.author, v.comment)
    console.print(table)


@app.command()
def diff(older: str, newer: str, workspace: WorkspaceOpt = None) -> None:
    """Unified diff of two versions (hashes or prefixes of at least 6 characters)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        text = c.playbooks.diff(ws.id, older, newer)
    print(text or "(no difference)")  # noqa: T201 - the diff itself


@app.command()
def rollback(
    playbook_id: str,
    workspace: WorkspaceOpt = None,
    author: Annotated[str, typer.Option(help="Who rolls back.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Put back the version in force before the current one."""
    with container() as c:
        ws = find_workspace(c, workspace)
        version = c.playbooks.rollback(ws.id, playbook_id, author)
    _show_version(version, as_json, source=False)


@app.command("dry-run")
def dry_run(
    file: FileArg,
    workspace: WorkspaceOpt = None,
    since: Annotated[str, typer.Option(help="How far back: 30d, 12h …")] = "30d",
    as_json: JsonOpt = False,
) -> None:
    """Replay stored events through FILE's trigger, with no side effects."""
    with container() as c:
        ws = find_workspace(c, workspace)
        since_ms = c.playbooks.clock() - parse_duration(since)
        report = c.playbooks.dry_run(ws.id, file.read_text("utf-8"), since_ms).as_dict()
    if as_json:
        _print_json(report)
        return
    console.print(
        f"{report['playbook_id']} @ {report['version'][:12]}: {report['fired']} firing(s) over "
        f"{report['events_scanned']} events, {len(report['profiles'])} profile(s)"
    )
    table = Table("variant", "firings")
    for name, count in report["variants"].items():
        table.add_row(name, str(count))
    console.print(table)
    for name, count in report["outcomes"].items():
        console.print(f"  {name}: {count}")
    console.print(f"[dim]{report['note']}[/]")


@app.command("list")
def list_playbooks(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The playbooks in force."""
    with container() as c:
        ws = find_workspace(c, workspace)
        found = c.playbooks.in_force_all(ws.id)
    if as_json:
        _print_json([v.as_dict() for v in found])
        return
    table = Table("playbook", "hash", "in force since", "author")
    for v in found:
        table.add_row(v.playbook_id, v.hash[:12], _when(v.activated_ms), v.author)
    console.print(table)


@app.command()
def firings(
    workspace: WorkspaceOpt = None,
    playbook: Annotated[str | None, typer.Option(help="Only this playbook.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent firings: who, which version, what happened."""
    with container() as c:
        ws = find_workspace(c, workspace)
        found = c.playbooks.firings(ws.id, playbook)
    if as_json:
        _print_json(found)
        return
    table = Table("firing", "playbook", "profile", "status", "run", "at")
    for f in found:
        table.add_row(
            f["id"],
            f["playbook_id"],
            f["profile_id"],
            f["status"],
            f["run_id"] or "-",
            _when(f["created_ms"]),
        )
    print_table(table, ids=("firing", "profile", "run"))


@app.command()
def approve(
    firing_id: str, workspace: WorkspaceOpt = None, approver: Annotated[str, typer.Option()] = "cli"
) -> None:
    """Approve a firing that waits for approval; its run starts."""
    with container() as c:
        ws = find_workspace(c, workspace)
        firing = c.playbooks.approve(ws.id, firing_id, approver)
    console.print(f"{firing_id}: {firing['status']} {firing.get('run_id') or ''}")


@app.command()
def components(as_json: JsonOpt = False) -> None:
    """The registered components, what they read and which hosts they may call."""
    registry = load_components()
    rows: list[dict[str, Any]] = []
    for name in registry.names():
        comp = registry.get(name)
        rows.append({"name": name, "description": comp.description, "reads": list(comp.reads),
                     "hosts": list(comp.hosts), "impact": comp.impact,
                     "params": comp.params.model_json_schema()})  # fmt: skip
    if as_json:
        _print_json(rows)
        return
    table = Table("component", "impact", "reads", "hosts", "description")
    for r in rows:
        table.add_row(
            r["name"], r["impact"], ", ".join(r["reads"]), ", ".join(r["hosts"]), r["description"]
        )
    console.print(table)


@app.command()
def schema() -> None:
    """Print the playbook JSON Schema."""
    _print_json(json_schema())


def _show_version(version: Version, as_json: bool, source: bool) -> None:
    if as_json:
        _print_json(version.as_dict(with_source=source))
        return
    console.print(
        f"[bold]{version.playbook_id}[/] @ {version.hash}\n"
        f"published {_when(version.created_ms)} by {version.author}: {version.comment or '-'}\n"
        f"in force since {_when(version.activated_ms)}"
    )
    if source:
        print(version.source)  # noqa: T201 - the file as published
