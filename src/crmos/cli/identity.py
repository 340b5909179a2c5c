"""``crmos identity``: profiles, merges and splits, the review queue, per-workspace settings.

Batch matching commands (``match``, ``dedupe``, ``link``) live in ``crmos.cli.identity_match``;
``crmos.cli.main`` registers them on this same ``app``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container, find_workspace, print_table
from crmos.core.errors import Problem, ValidationError
from crmos.identity import (
    Stitcher,
    list_reviews,
    merge_profiles,
    normalised,
    profile_of,
    profile_view,
    resolve_review,
    split_profile,
)
from crmos.identity.config import effective_config, set_workspace_config
from crmos.ingest import StreamRunner

app = typer.Typer(help="Identity: profiles, merges, splits, review queue.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))  # noqa: T201 - machine-readable output


@app.command("show")
def show(
    what: Annotated[str, typer.Argument(help="A profile id, or TYPE:VALUE (email:a@b.com).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a profile: identifiers, traits, merges, conflicts, flags."""
    with container() as c, c.engine.connect() as conn:
        ws = find_workspace(c, workspace)
        pid = what
        if not what.startswith("prf_"):
            kind, _, value = what.partition(":")
            ident = normalised(conn, ws.id, kind, value, c.settings.identity)
            found = profile_of(conn, ws.id, ident.type, ident.value)
            if found is None:
                console.print(f"no profile holds {ident}")
                raise typer.Exit(1)
            pid = found
        view = profile_view(conn, ws.id, pid)
    if as_json:
        _print(view)
        return
    _render(view)


def _render(view: dict[str, Any]) -> None:
    flags = view["flags"]
    paused = " [red]marketing suppressed[/]" if flags["marketing_suppressed"] else ""
    console.print(f"profile [bold]{view['id']}[/]{paused}")
    if view["merged_ids"]:
        console.print(f"merged: {', '.join(view['merged_ids'])}")
    table = Table("type", "value", "source", "via")
    for ident in view["identifiers"]:
        table.add_row(ident["type"], ident["value"], ident["source"], ident["via"])
    console.print(table)
    traits = Table("trait", "value", "source")
    for name, value in view["traits"].items():
        traits.add_row(
            name, json.dumps(value, ensure_ascii=False), view["trait_sources"][name]["source"]
        )
    console.print(traits)
    for merge in view["merges"]:
        state = "active" if merge["active"] else f"split ({merge['split_reason']})"
        console.print(
            f"merge {merge['id']}: {merge['other_id']} -> {merge['survivor_id']}, {state}"
        )
    if flags["open_reviews"]:
        console.print(f"open review tickets: {', '.join(flags['open_reviews'])}")


@app.command("merge")
def merge(
    survivor: Annotated[str, typer.Argument(help="Profile that stays.")],
    other: Annotated[str, typer.Argument(help="Profile merged into it.")],
    reason: Annotated[str, typer.Option(help="Why, for the decision record.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Merge OTHER into SURVIVOR (recorded as a decision)."""
    with container() as c, c.engine.begin() as conn:
        ws = find_workspace(c, workspace)
        merge_id = merge_profiles(
            conn,
            ws.id,
            survivor,
            other,
            reason=reason,
            evidence={},
            actor="cli",
            settings=c.settings.identity,
        )
    console.print(f"merged {other} into {survivor}: decision {merge_id}")


@app.command("split")
def split(
    profile: Annotated[str, typer.Argument(help="Merged-away profile, or the survivor.")],
    reason: Annotated[str, typer.Option(help="Why the merge was wrong.")],
    merge_id: Annotated[str | None, typer.Option(help="Merge to undo.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Undo a merge: both profiles get their own identifiers, events and traits back."""
    with container() as c, c.engine.begin() as conn:
        ws = find_workspace(c, workspace)
        result = split_profile(
            conn,
            ws.id,
            profile,
            reason=reason,
            merge_id=merge_id,
            actor="cli",
            settings=c.settings.identity,
        )
    console.print(
        f"undid {result.merge_id}: {result.restored_id} restored beside {result.survivor_id} "
        f"({result.identifiers_restored} identifiers, {result.events_restored} events)"
    )


@app.command("review")
def review(
    kind: Annotated[str | None, typer.Option(help="conflict or match.")] = None,
    status: Annotated[str, typer.Option(help="open, resolved, approved, rejected, all.")] = "open",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List review tickets."""
    with container() as c, c.engine.connect() as conn:
        ws = find_workspace(c, workspace)
        data = list_reviews(conn, ws.id, kind=kind, status=None if status == "all" else status)
    if as_json:
        _print(data)
        return
    table = Table("id", "kind", "status", "identifier", "profiles")
    for r in data:
        table.add_row(
            r["id"], r["kind"], r["status"], r["identifier"] or "", str(len(r["subject_profiles"]))
        )
    print_table(table, ids=("id",))


@app.command("resolve")
def resolve(
    review_id: Annotated[str, typer.Argument(help="Ticket id.")],
    decision: Annotated[str, typer.Option(help="resolve (conflict), approve or reject (match).")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    workspace: WorkspaceOpt = None,
) -> None:
    """Close a review ticket."""
    with container() as c, c.engine.begin() as conn:
        ws = find_workspace(c, workspace)
        done = resolve_review(
            conn,
            ws.id,
            review_id,
            decision=decision,
            note=note,
            actor="cli",
            settings=c.settings.identity,
        )
    console.print(f"ticket {done['id']} {done['status']}")


@app.command("config")
def config(
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=JSON, e.g. default_region='\"DE\"'; repeatable."),
    ] = None,
    unset: Annotated[list[str] | None, typer.Option(help="KEY to reset to the default.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show, and with --set/--unset change, the workspace's identity settings."""
    with container() as c, c.engine.begin() as conn:
        ws = find_workspace(c, workspace)
        changes = _changes(set_ or [], unset or [])
        if changes:
            set_workspace_config(conn, ws.id, changes, settings=c.settings.identity)
        _print(effective_config(conn, ws.id, c.settings.identity))


def _changes(items: list[str], unset: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = dict.fromkeys(unset)
    for item in items:
        key, sep, text = item.partition("=")
        try:
            changes[key] = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = Problem(key, f"'{text}' is not JSON; quote strings: KEY='\"text\"'")
            raise ValidationError("bad --set", [problem]) from exc
        if not sep:
            raise ValidationError("bad --set", [Problem(item, "write KEY=JSON")])
    return changes


@app.command("stitch")
def stitch() -> None:
    """Stitch events not stitched yet (what a running server does continuously)."""
    with container() as c:
        runner = StreamRunner(c.engine, c.log, c.reader, [Stitcher(c.settings.identity)])
        console.print(f"stitched {runner.run_once()} events")
