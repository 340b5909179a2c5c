"""``crmos events tail``: watch events arrive."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from crmos.cli.common import console, container, find_workspace
from crmos.store import EventQuery

app = typer.Typer(help="The event log.", no_args_is_help=True)


@app.command("tail")
def tail(
    workspace: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
    lines: Annotated[int, typer.Option("-n", "--lines", help="Show the last N events first.")] = 10,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls with --follow.")] = 0.5,
) -> None:
    """Print the newest events, and with --follow every new one as it is committed."""
    with container() as c:
        ws = find_workspace(c, workspace)
        last = c.reader.find(EventQuery(ws.id, limit=max(lines, 1), newest_first=True))
        after = last[0]["seq"] if last else 0
        for event in reversed(last[:lines]):
            _show(event, as_json)
        while follow:
            fresh = c.reader.find(EventQuery(ws.id, after_seq=after, limit=500))
            for event in fresh:
                _show(event, as_json)
                after = event["seq"]
            if not fresh:
                time.sleep(interval)  # polling the log; nothing to wait on


def _show(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event, ensure_ascii=False))  # noqa: T201 - machine-readable output
        return
    who = event.get("userId") or f"anon:{event.get('anonymousId')}"
    what = event.get("event") or event.get("name") or ""
    console.print(
        f"[dim]{event['seq']:>8}[/] {event['timestamp']} [cyan]{event['touchpoint']:<12}[/] "
        f"[bold]{event['type']:<8}[/] {who} {what}",
        highlight=False,
    )
