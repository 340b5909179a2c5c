"""``crmos audit verify``: check a workspace's hash-chained audit log, and say where it breaks."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from crmos.cli.common import console, container, err_console, find_workspace
from crmos.store import audit_count, verify_audit

app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)


@app.command("verify")
def verify(
    workspace: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Verify every entry; an edited, removed or reordered entry is named by its position.

    Exits 1 when the chain is broken.
    """
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            count = audit_count(conn, ws.id)
            started = time.perf_counter()
            breaks = list(verify_audit(conn, ws.id))
            elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed > 0 else 0.0
    result = {
        "workspace": ws.name,
        "entries": count,
        "intact": not breaks,
        "breaks": [{"position": b.position, "problem": b.problem} for b in breaks],
        "seconds": round(elapsed, 3),
        "entries_per_s": round(rate),
    }
    if as_json:
        print(json.dumps(result))  # noqa: T201 - machine-readable output
    else:
        for item in breaks[:50]:
            err_console.print(f"[red]entry {item.position}[/] {item.problem}", highlight=False)
        state = "[green]intact[/]" if not breaks else f"[red]{len(breaks)} break(s)[/]"
        console.print(
            f"audit chain of {ws.name}: {count} entries {state} "
            f"(verified in {elapsed:.2f}s, {rate:,.0f} entries/s)"
        )
    if breaks:
        raise typer.Exit(1)
