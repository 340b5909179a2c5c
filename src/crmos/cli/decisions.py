"""``crmos decisions``: explain why the system did what it did."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import typer

from crmos.cli.common import console, container, find_workspace
from crmos.core.errors import NotFound
from crmos.store import Decision, decisions_of, get_decision

app = typer.Typer(help="Decision records: every automated choice, explained.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("explain")
def explain(ident: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """What was decided, when, by which rule or model and version, from which inputs, and why."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            decision = get_decision(conn, ws.id, ident)
        if decision is None:
            raise NotFound("decision", ident)
    if as_json:
        print(json.dumps(_data(decision), ensure_ascii=False, indent=2))  # noqa: T201
        return
    at = datetime.fromtimestamp(decision.at_ms / 1000, UTC).isoformat(timespec="seconds")
    lines = [
        f"[bold]{decision.id}[/] {decision.kind} at {at}",
        f"why:       {decision.reason}",
        f"rule:      {decision.rule} (version {decision.version})",
        f"score:     {decision.score if decision.score is not None else '-'}",
        f"profile:   {decision.subject_profile_id or '-'}",
        f"approver:  {decision.approver or '-'}",
        f"events:    {', '.join(decision.event_ids) or '-'}",
        f"inputs:    {json.dumps(decision.inputs, ensure_ascii=False)}",
        f"actions:   {json.dumps(list(decision.actions), ensure_ascii=False)}",
    ]
    for line in lines:
        console.print(line, highlight=False)


@app.command("list")
def list_(
    profile: Annotated[str | None, typer.Option(help="Only decisions about this profile.")] = None,
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Decisions, newest first."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            found = decisions_of(conn, ws.id, profile, limit)
    if as_json:
        print(json.dumps([_data(d) for d in found], ensure_ascii=False, indent=2))  # noqa: T201
        return
    for d in found:
        console.print(f"[cyan]{d.id}[/] {d.kind}: {d.reason}", highlight=False)


def _data(decision: Decision) -> dict[str, object]:
    data = asdict(decision)
    data["event_ids"] = list(decision.event_ids)
    data["actions"] = list(decision.actions)
    return data
