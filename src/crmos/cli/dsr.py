"""``crmos dsr``: data-subject requests from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container, find_workspace, print_table, when
from crmos.compliance import DsrRequest
from crmos.core.errors import Problem, ValidationError

app = typer.Typer(help="Data-subject requests: access, erasure, rectification, opt-out.")

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
WhoArg = Annotated[
    str, typer.Argument(help="TYPE:VALUE, e.g. user_id:hans-42, email:hans@example.de")
]
ACTOR = "cli"


def identifier(text: str) -> tuple[str, str]:
    """``type:value`` split; a value without a type is a user id."""
    kind, sep, value = text.partition(":")
    if not sep or not value:
        problem = Problem("identifier", f"'{text}': write TYPE:VALUE, e.g. email:hans@example.de")
        raise ValidationError("malformed identifier", [problem])
    return kind, value


@app.command("erase")
def erase(
    who: WhoArg,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    locale: Annotated[
        str | None, typer.Option(help="Also print the letter in this locale.")
    ] = None,
) -> None:
    """Erase a person everywhere, with a proof-of-erasure report."""
    _run("erasure", who, workspace, as_json, locale)


@app.command("access")
def access(
    who: WhoArg,
    out: Annotated[Path, typer.Option(help="Write the export (JSON) here.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export everything held about a person (machine-readable JSON)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        dsr = c.compliance.dsr
        made = dsr.run(ws.id, dsr.receive(ws.id, "access", identifier(who), "cli", ACTOR).id)
        out.write_text(json.dumps(dsr.export(ws.id, made.id), ensure_ascii=False, indent=2))
    _show(made, as_json)
    if not as_json:
        console.print(f"export written to {out}")


@app.command("opt-out")
def opt_out(
    who: WhoArg,
    workspace: WorkspaceOpt = None,
    purpose: Annotated[
        list[str] | None, typer.Option(help="Purposes (default sale, sharing, marketing).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw consent to the sale and sharing of a person's data (and marketing)."""
    _run("opt_out", who, workspace, as_json, None, {"purposes": purpose} if purpose else {})


@app.command("rectify")
def rectify(
    who: WhoArg,
    trait: Annotated[list[str], typer.Option(help="NAME=VALUE, repeatable.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct traits (validated like intake)."""
    with container() as c:
        traits = dict(_pair(t) for t in trait)
        ws = find_workspace(c, workspace)
        made = c.compliance.dsr.rectify(ws.id, identifier(who), traits, ACTOR)
    _show(made, as_json)


@app.command("list")
def list_requests(
    workspace: WorkspaceOpt = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Requests, newest first, with when each was received and is due."""
    with container() as c:
        ws = find_workspace(c, workspace)
        found = c.compliance.requests(ws.id, status)
    if as_json:
        data = [r.as_dict(with_letters=False) for r in found]
        print(json.dumps({"data": data}, ensure_ascii=False))  # noqa: T201 - machine-readable
        return
    table = Table("id", "kind", "status", "profile", "packs", "received", "due")
    for r in found:
        received, due = when(r.received_ms), when(r.due_ms)
        table.add_row(r.id, r.kind, r.status, r.profile_id, _packs(r), received, due)
    print_table(table, ids=("id", "profile"))


@app.command("show")
def show(
    request_id: str,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    letter: Annotated[str | None, typer.Option(help="Print the letter in this locale.")] = None,
) -> None:
    """One request with its report (and letter)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        found = c.compliance.request(ws.id, request_id)
    _show(found, as_json, letter)


@app.command("hold")
def hold(
    profile_id: str,
    reason: Annotated[str, typer.Option(help="The law that requires keeping the data.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Place a legal hold: erasure of the profile is blocked while it is active."""
    with container() as c:
        ws = find_workspace(c, workspace)
        held = c.compliance.hold(ws.id, profile_id, reason, ACTOR)
    console.print(f"legal hold {held['id']} placed on {profile_id}")


@app.command("release")
def release(hold_id: str, workspace: WorkspaceOpt = None) -> None:
    """Release a legal hold."""
    with container() as c:
        ws = find_workspace(c, workspace)
        c.compliance.release(ws.id, hold_id, ACTOR)
    console.print(f"legal hold {hold_id} released")


def _run(
    kind: str,
    who: str,
    workspace: str | None,
    as_json: bool,
    locale: str | None,
    params: dict[str, Any] | None = None,
) -> None:
    with container() as c:
        ws = find_workspace(c, workspace)
        dsr = c.compliance.dsr
        made = dsr.receive(ws.id, kind, identifier(who), "cli", ACTOR, params)
        done = dsr.run(ws.id, made.id, ACTOR)
    _show(done, as_json, locale)


def _show(request: DsrRequest, as_json: bool, locale: str | None = None) -> None:
    if as_json:
        print(json.dumps(request.as_dict(with_letters=locale is not None), ensure_ascii=False))  # noqa: T201
        return
    console.print(
        f"{request.kind} {request.id}: [bold]{request.status}[/] (profile {request.profile_id}, "
        f"packs {_packs(request)})",
        highlight=False,
    )
    if request.reason:
        console.print(f"reason: {request.reason}", highlight=False)
    report = request.report or {}
    rows = [*report.get("stores", []), *report.get("systems", [])]
    if rows:
        table = Table("store / system", "kind", "outcome", "count", "confirmation")
        for row in rows:
            table.add_row(
                row["target"],
                row["kind"],
                row["status"],
                str(row["count"]),
                row.get("confirmation") or "",
            )
        console.print(table)
    proof = report.get("verification")
    if proof:
        console.print(
            f"verification: {proof['readable_copies']} readable copies in "
            f"{proof['tables_scanned']} tables ({proof['columns_scanned']} columns) and "
            f"{proof['files_scanned']} files"
        )
    letters = request.letters or {}
    if locale and letters:
        item = letters.get(locale) or letters.get(locale.split("_")[0].split("-")[0])
        console.print(
            item["text"] if item else f"no letter in {locale} (have: {', '.join(letters)})"
        )


def _packs(request: DsrRequest) -> str:
    return ", ".join(f"{k} {v}" for k, v in request.packs.items()) or "none"


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValidationError("malformed trait", [Problem("trait", f"'{text}': write NAME=VALUE")])
    return name, value
