"""``crmos graph``: neighbourhoods, paths, related accounts, scores, rules, audiences, health."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container, find_workspace
from crmos.graph import (
    Answer,
    create_audience,
    graph_health,
    list_audiences,
    members,
    neighbourhood,
    parse_rules,
    scores_of,
    shortest_path,
    top_accounts,
)

app = typer.Typer(help="The customer graph.", no_args_is_help=True)
audiences_app = typer.Typer(help="Real-time audiences.", no_args_is_help=True)
app.add_typer(audiences_app, name="audiences")

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JsonOnly = Annotated[
    bool, typer.Option("--json", help="Print JSON (the only output: accepted like elsewhere).")
]
TypeOpt = Annotated[
    list[str] | None, typer.Option("--type", "-t", help="Edge type to follow (repeat).")
]


def _print(data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))  # noqa: T201 - machine-readable output


def _show(answer: Answer, as_json: bool) -> None:
    if as_json:
        _print(answer.as_dict())
        return
    if answer.path:
        console.print(" -> ".join(answer.path), highlight=False)
    else:
        nodes = Table("node", "hops", "score")
        for n in answer.nodes:
            nodes.add_row(n.node, str(n.hops), f"{n.score:.4f}")
        console.print(nodes)
    edges = Table("src", "type", "dst", "weight", "rule", "evidence events")
    for e in answer.edges:
        seqs = ", ".join(str(s) for s in e.evidence.get("events", [])[-5:])
        edges.add_row(e.src, e.type, e.dst, f"{e.weight:.3f}", e.rule, seqs)
    console.print(edges)


@app.command("sync")
def sync_cmd() -> None:
    """Run the event stream to the end of the log (identity first, then the graph and the
    rooms after it), as a running server does continuously."""
    with container() as c:
        console.print(f"handled {c.stream.run_once()} events")


@app.command("neighbours")
def neighbours_cmd(
    node: Annotated[str, typer.Argument(help="Node id, e.g. account:acme or profile:prf_...")],
    workspace: WorkspaceOpt = None,
    hops: Annotated[int, typer.Option(min=1, max=3)] = 2,
    edge_type: TypeOpt = None,
    kind: Annotated[list[str] | None, typer.Option(help="Node kinds to list (repeat).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The strongest nodes within HOPS of NODE, with the evidence of the edges reaching them."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            answer = neighbourhood(
                conn,
                ws.id,
                node,
                hops=hops,
                edge_types=edge_type,
                node_kinds=kind,
                limit=limit,
                fanout=c.settings.graph.fanout,
            )
        _show(answer, as_json)


@app.command("path")
def path_cmd(
    source: Annotated[str, typer.Argument(help="From node id.")],
    target: Annotated[str, typer.Argument(help="To node id.")],
    workspace: WorkspaceOpt = None,
    max_hops: Annotated[int, typer.Option(min=1, max=6)] = 4,
    edge_type: TypeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The shortest path between two nodes, each edge with its evidence."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            answer = shortest_path(
                conn,
                ws.id,
                source,
                target,
                max_hops=max_hops,
                edge_types=edge_type,
                fanout=c.settings.graph.path_fanout,
            )
        _show(answer, as_json)


@app.command("accounts")
def accounts_cmd(
    profile: Annotated[str, typer.Argument(help="Profile id.")],
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """The accounts most strongly related to a profile."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            answer = top_accounts(conn, ws.id, profile, limit=limit, fanout=c.settings.graph.fanout)
        _show(answer, as_json)


@app.command("scores")
def scores_cmd(
    profile: Annotated[str, typer.Argument(help="Profile id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOnly = True,
) -> None:
    """Role and intent confidences of a profile now, with their evidence."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            _print({"profile_id": profile, "data": scores_of(conn, ws.id, profile)})


@app.command("rules")
def rules_cmd(
    file: Annotated[Path | None, typer.Argument(help="A rule file to check instead.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the rules in force, or check FILE (every error with its YAML path)."""
    with container(migrate=False) as c:
        if file is not None:
            rules = parse_rules(file.read_text(encoding="utf-8"), str(file))
            console.print(f"[green]valid[/]: {', '.join(r.ref for r in rules)}", highlight=False)
            return
        assert c.graph is not None
        if as_json:
            _print(
                {"data": [{"rule": r.ref, "kind": r.kind, "file": r.source} for r in c.graph.rules]}
            )
            return
        table = Table("rule", "kind", "file")
        for r in c.graph.rules:
            table.add_row(r.ref, r.kind, r.source)
        console.print(table)


@app.command("health")
def health_cmd(
    workspace: WorkspaceOpt = None,
    window: Annotated[int | None, typer.Option(help="Window in seconds.")] = None,
    as_json: JsonOnly = True,
) -> None:
    """Event loss, match conflict and inference failure rates over a window (JSON)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            _print(graph_health(conn, c.log, ws.id, window or c.settings.graph.health_window_s))


@audiences_app.command("create")
def audience_create(
    name: Annotated[str, typer.Argument()],
    condition: Annotated[str, typer.Argument(help="CEL over traits, events, edges, scores.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Define an audience (filled at once from the profiles seen so far)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            audience = create_audience(conn, ws.id, name, condition, "cli")
            total = members(conn, ws.id, audience.id, limit=1)["total"]
        console.print(f"{audience.id} {name}: {total} members", highlight=False)


@audiences_app.command("list")
def audience_list(workspace: WorkspaceOpt = None, as_json: JsonOnly = True) -> None:
    """The workspace's audiences."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            _print({"data": [a.as_dict() for a in list_audiences(conn, ws.id)]})


@audiences_app.command("members")
def audience_members(
    audience_id: Annotated[str, typer.Argument()],
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOnly = True,
) -> None:
    """Members of an audience now."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            _print(members(conn, ws.id, audience_id, limit=limit))
