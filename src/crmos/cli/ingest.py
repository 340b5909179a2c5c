"""``crmos ingest FILE``: bulk-import events through the same validation as the HTTP intake."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from crmos.cli.common import console, container, find_workspace
from crmos.cli.files import event_lines
from crmos.core.errors import Problem

app = typer.Typer()


@app.command("ingest")
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl or .csv")],
    workspace: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
    source: Annotated[str, typer.Option(help="Touchpoint of events without one.")] = "import",
    show: Annotated[int, typer.Option(help="Print at most this many problems.")] = 20,
) -> None:
    """Bulk-import events through the same validation as the HTTP intake."""
    from rich.progress import Progress

    with container() as c:
        ws = find_workspace(c, workspace)
        accepted = duplicates = rejected = 0
        problems: list[Problem] = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"ingesting {file.name}", total=file.stat().st_size)

            def counted(lines: Iterable[bytes]) -> Iterable[bytes]:
                for line in lines:
                    progress.advance(task, len(line) + 1)
                    yield line

            for report in c.ingest().ingest_lines(ws.id, source, counted(event_lines(file))):
                accepted += report.accepted
                duplicates += report.duplicates
                rejected += report.rejected
                problems.extend(report.problems[: max(0, show - len(problems))])
        for problem in problems:
            console.print(f"[yellow]rejected[/] {problem.path}: {problem.message}", highlight=False)
        console.print(f"accepted {accepted}, duplicates {duplicates}, rejected {rejected}")
