"""``crmos knowledge``: index documents and retrieve passages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from crmos.cli.common import console, container, find_workspace

app = typer.Typer(help="The knowledge base behind recommendations.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]


@app.command("add")
def add(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder to index.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Index every .md, .txt, .html and .pdf file under FOLDER (changed files are replaced)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        report = c.agent.knowledge.add_folder(ws.id, folder)
        docs, passages = c.agent.knowledge.count(ws.id)
    for source, why in report.skipped:
        console.print(f"[yellow]skipped[/] {source}: {why}", highlight=False)
    console.print(
        f"added {report.added} document(s) ({report.passages} passages), unchanged "
        f"{report.unchanged}, skipped {len(report.skipped)}; the knowledge base holds {docs} "
        f"document(s), {passages} passages"
    )


@app.command("search")
def search(
    query: str,
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Passages matching QUERY, with their source, page and character span."""
    with container() as c:
        hits = c.agent.knowledge.search(find_workspace(c, workspace).id, query, limit)
    if as_json:
        print(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=2))  # noqa: T201
        return
    for hit in hits:
        console.print(f"[cyan]{hit.citation}[/] {hit.text[:200]}", highlight=False)
