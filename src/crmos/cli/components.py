"""``crmos components search|show|install|list|remove|approve|reject|review|reviewer-key``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.bootstrap import Container
from crmos.cli.common import console, container, exit_on_error, find_workspace
from crmos.core.errors import AuthError, ScopeError
from crmos.core.settings import load_settings
from crmos.playbooks import catalog
from crmos.store import ApiKey
from crmos.store.workspaces import COMPLIANCE_SCOPES

app = typer.Typer(
    help="The component marketplace: search the signed catalog, install, review, remove.",
    no_args_is_help=True,
)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyOpt = Annotated[
    str,
    typer.Option(
        "--key",
        envvar="CRMOS_KEY",
        help="A key with the compliance scope (crmos components reviewer-key).",
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (mandatory, kept in the audit).")]


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))  # noqa: T201 - machine output


def _catalog() -> catalog.Catalog:
    settings = load_settings()
    return catalog.load(settings.playbooks.catalog, settings.playbooks.catalog_key)


@app.command()
def search(text: Annotated[str, typer.Argument()] = "", as_json: JsonOpt = False) -> None:
    """Components in the signed catalog whose name or description contains TEXT."""
    with exit_on_error():
        found = _catalog().search(text)
    rows = [e.model_dump() | {"permissions": e.permissions()} for e in found]
    if as_json:
        _print_json(rows)
        return
    table = Table("component", "version", "publisher", "permissions", "description")
    for r in rows:
        table.add_row(r["name"], r["version"], r["publisher"], r["permissions"], r["description"])
    console.print(table)


@app.command("list")
def list_components(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Installed components, their permissions and review status in the workspace."""
    with container() as c:
        rows = c.playbooks.market.installed(find_workspace(c, workspace).id)
    if as_json:
        _print_json(rows)
        return
    table = Table("component", "version", "status", "permissions", "description")
    for r in rows:
        version = "built in" if r["builtin"] else f"{r['package']} {r['version']}"
        table.add_row(r["name"], version, r["status"], r["permissions"], r["description"])
    console.print(table)


@app.command()
def show(name: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """One installed component: permissions, limits, params schema and its reviews."""
    with container() as c:
        data = c.playbooks.market.show(find_workspace(c, workspace).id, name)
    if as_json:
        _print_json(data)
        return
    console.print(f"[bold]{data['name']}[/] {data['package']} {data['version']}: {data['status']}")
    console.print(data["description"], highlight=False)
    console.print(f"permissions: {data['permissions']}", highlight=False)
    console.print(f"limits: {data['limits']}; impact: {data['impact']}", highlight=False)
    for review in data["reviews"]:
        console.print(
            f"  {review['status']} by {review['reviewer']}: {review['reason']}", highlight=False
        )


@app.command()
def install(
    what: Annotated[str, typer.Argument(help="A component name in the catalog, or a .whl path.")],
    target: Annotated[
        Path | None, typer.Option(help="Install into this folder instead of this environment.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Install from the signed catalog (or a local wheel it lists), verifying signature and
    sha256; the component enters as pending review."""
    with container() as c:
        done = c.playbooks.market.install(what, target)
    if as_json:
        _print_json(done)
        return
    console.print(
        f"installed {done['name']} {done['version']} ({done['permissions']}): pending review",
        highlight=False,
    )


@app.command()
def remove(name: str, as_json: JsonOpt = False) -> None:
    """Uninstall the package that provides component NAME."""
    with container() as c:
        package = c.playbooks.market.remove(name)
    if as_json:
        _print_json({"component": name, "removed": package})
        return
    console.print(f"removed {package} (component {name})", highlight=False)


def _reviewer(c: Container, secret: str) -> ApiKey:
    key = c.workspaces.resolve(secret)
    if key is None:
        raise AuthError("unknown or revoked key; issue one with `crmos components reviewer-key`")
    if "compliance" not in key.scopes:
        raise ScopeError("compliance", key.scopes)
    return key


def _decide(name: str, decision: str, reason: str, secret: str, as_json: bool) -> None:
    with container() as c:
        key = _reviewer(c, secret)
        review = c.playbooks.market.review(key.workspace_id, name, decision, reason, key.name)
    if as_json:
        _print_json(review.as_dict())
        return
    console.print(f"{name} {review.version}: {review.status} ({review.reason})", highlight=False)


@app.command()
def approve(name: str, reason: ReasonOpt, key: KeyOpt, as_json: JsonOpt = False) -> None:
    """Approve the installed version of NAME for playbooks (compliance scope)."""
    _decide(name, "approved", reason, key, as_json)


@app.command()
def reject(name: str, reason: ReasonOpt, key: KeyOpt, as_json: JsonOpt = False) -> None:
    """Reject the installed version of NAME (compliance scope)."""
    _decide(name, "rejected", reason, key, as_json)


@app.command()
def review(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The monthly review: the most used components, permissions and last review date."""
    with container() as c:
        rows = c.playbooks.market.review_view(find_workspace(c, workspace).id)
    if as_json:
        _print_json(rows)
        return
    table = Table("component", "uses", "status", "permissions", "last review")
    for r in rows:
        table.add_row(
            r["name"], str(r["uses"]), r["status"], r["permissions"], _day(r["reviewed_ms"])
        )
    console.print(table)


@app.command("reviewer-key")
def reviewer_key(name: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Issue a key with the compliance scope (read + compliance) for a reviewer."""
    with container() as c:
        ws = find_workspace(c, workspace)
        issued = c.workspaces.issue_key(ws.id, name, COMPLIANCE_SCOPES, "reviewer")
    if as_json:
        _print_json({"id": issued.key.id, "secret": issued.secret, "scopes": COMPLIANCE_SCOPES})
        return
    console.print(f"compliance key for {name}: {issued.secret}", highlight=False)


def _day(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")
