"""``crmos accounts``: accounts (the graph's account nodes) listed, searched, shown."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container, find_workspace
from crmos.graph import get_account, list_accounts
from crmos.identity import index_pending, profile_summaries

app = typer.Typer(help="Accounts: list, search, show with their people.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_(
    query: Annotated[str, typer.Argument(help="Part of the name or key (optional).")] = "",
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Accounts per page.")] = 50,
    after: Annotated[str | None, typer.Option(help="next_after of the previous page.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List accounts in id order, with how many people work at each."""
    with container() as c, c.engine.connect() as conn:
        ws = find_workspace(c, workspace)
        page, last = list_accounts(conn, ws.id, query, after, limit)
    if as_json:
        data = {"data": [a.as_dict() for a in page], "next_after": last}
        print(json.dumps(data, ensure_ascii=False, indent=2))  # noqa: T201
        return
    table = Table("id", "name", "people")
    table.columns[0].no_wrap = True  # ids are never cut, even when piped
    for a in page:
        table.add_row(a.id, a.name or "", str(a.people))
    console.print(table)
    if last:
        console.print(f"more: --after {last}", highlight=False, soft_wrap=True)


@app.command("show")
def show(
    account_id: Annotated[str, typer.Argument(help="account:KEY or KEY, e.g. acme.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an account and its people (live profiles working there), strongest link first."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            index_pending(conn, c.vault.search_key(ws.id), ws.id)
        with c.engine.connect() as conn:
            found = get_account(conn, ws.id, account_id)
            ids = [p.profile_id for p in found.people]
            shown = {s.id: s for s in profile_summaries(conn, ws.id, ids)}
    people: list[dict[str, Any]] = [
        p.as_dict() | {"profile": shown[p.profile_id].as_dict() if p.profile_id in shown else None}
        for p in found.people
    ]
    if as_json:
        data = found.as_dict() | {"people_list": people}
        print(json.dumps(data, ensure_ascii=False, indent=2))  # noqa: T201
        return
    console.print(f"account [bold]{found.summary.id}[/] {found.summary.name or ''}")
    table = Table("profile", "name", "e-mail", "weight")
    table.columns[0].no_wrap = True
    for p in people:
        profile = p["profile"] or {}
        table.add_row(
            p["profile_id"], profile.get("name") or "", profile.get("email") or "",
            f"{p['weight']:.2f}",
        )  # fmt: skip
    console.print(table)
