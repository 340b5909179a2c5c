"""``crmos demo``: seed the demo world (with its ground truth), then serve."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Annotated

import orjson
import typer

from crmos.bootstrap import Container
from crmos.cli.common import console, container
from crmos.demo import generate
from crmos.store import Workspace

DEMO_WORKSPACE = "demo"


def demo(
    serve: Annotated[bool, typer.Option(help="Serve the API and dashboard afterwards.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the generated world.")] = 7,
    people: Annotated[int, typer.Option(help="How many people the world has.")] = 120,
    host: Annotated[str | None, typer.Option(help="Interface (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port).")] = None,
) -> None:
    """Generate the demo world, ingest it through the normal validation, then serve.

    Idempotent: message ids are derived from the seed, so a second run stores nothing twice.
    """
    with container() as c:
        ws = _demo_workspace(c)
        world = generate(seed=seed, people=people)
        out = c.settings.home / "demo"
        out.mkdir(parents=True, exist_ok=True)
        _write_ground_truth(out / "ground_truth.csv", world.ground_truth())
        # Before the events, so the stream evaluates them: scenarios 1 and 9 fire in the demo.
        published = c.playbooks.publish_examples(ws.id, "crmos demo")
        lines = [orjson.dumps(event) for event in world.events]
        (out / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        accepted = duplicates = 0
        for report in c.ingest().ingest_lines(ws.id, "demo", lines):
            accepted += report.accepted
            duplicates += report.duplicates
        console.print(
            f"demo world: {len(world.companies)} companies, {len(world.people)} people, "
            f"{len(world.events)} events ({accepted} new, {duplicates} already stored); "
            f"ground truth in {out / 'ground_truth.csv'}"
        )
        if published:
            console.print(f"example playbooks in force: {', '.join(published)}")
        _announce(c, host, port)
    if serve:
        from crmos.cli.main import run_server

        run_server(host, port)


def _announce(c: Container, host: str | None, port: int | None) -> None:
    """Tell where the demo keys are, with a dashboard link that signs in with the admin key."""
    path = c.settings.home / "demo-keys.json"
    if not path.exists():
        return
    keys = json.loads(path.read_text())
    bind = f"http://{host or c.settings.server.host}:{port or c.settings.server.port}"
    console.print(f"demo keys in {path}")
    # The key travels in the URL fragment, which browsers never send to the server.
    console.print(f"dashboard: {bind}/#key={keys['admin_key']}", soft_wrap=True, highlight=False)


def _demo_workspace(c: Container) -> Workspace:
    """The demo workspace; its keys are kept in HOME/demo-keys.json (mode 0600) for the tour."""
    existing = c.workspaces.by_name(DEMO_WORKSPACE)
    if existing is not None:
        return existing
    ws, write, admin = c.workspaces.create(DEMO_WORKSPACE)
    path: Path = c.settings.home / "demo-keys.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"workspace_id": ws.id, "write_key": write.secret, "admin_key": admin.secret}, fh)
    return ws


def _write_ground_truth(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["person_id"])
        writer.writeheader()
        writer.writerows(rows)
