"""``crmos workspace``: create workspaces (with their first keys) and list them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from crmos.cli.common import console, container, store_engine

app = typer.Typer(help="Workspaces and their API keys.", no_args_is_help=True)


@app.command("create")
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


@app.command("list")
def workspace_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List workspaces."""
    from crmos.store import WorkspaceStore

    with store_engine() as engine:
        spaces = WorkspaceStore(engine).list() if engine is not None else []
    if as_json:
        data = [{"id": ws.id, "name": ws.name} for ws in spaces]
        print(json.dumps({"data": data, "total": len(data)}))  # noqa: T201 - machine-readable
        return
    table = Table("id", "name")
    table.columns[0].no_wrap = True  # ids are never cut, even when piped
    for ws in spaces:
        table.add_row(ws.id, ws.name)
    console.print(table)
