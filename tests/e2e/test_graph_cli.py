"""``crmos graph``: import events, then query neighbours, paths, audiences, rules and health."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from tests.e2e.conftest import run_cli as run


def test_the_graph_is_queried_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "workspace", "create", "acme")
    events = [
        {"type": "group", "userId": "ann", "groupId": "acme", "traits": {"name": "Acme"}},
        {"type": "group", "userId": "bob", "groupId": "globex", "traits": {"name": "Globex"}},
        {
            "type": "track",
            "userId": "ann",
            "event": "Meeting Attended",
            "properties": {"occasion_id": "kickoff"},
        },
        {
            "type": "track",
            "userId": "bob",
            "event": "Meeting Attended",
            "properties": {"occasion_id": "kickoff"},
        },
        {"type": "identify", "userId": "ann", "traits": {"plan": "pro"}},
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b"\n".join(orjson.dumps({"messageId": f"c{i}"} | e) for i, e in enumerate(events))
    )
    run(cli, "ingest", str(path))
    assert "handled" in run(cli, "graph", "sync")
    answer = json.loads(
        run(cli, "graph", "neighbours", "occasion:kickoff", "--hops", "1", "--json")
    )
    assert len(answer["nodes"]) == 2 and all(e["evidence"]["events"] for e in answer["edges"])
    path_out = run(cli, "graph", "path", "account:acme", "account:globex")
    assert "account:acme ->" in path_out and "-> account:globex" in path_out
    created = run(cli, "graph", "audiences", "create", "pros", 'traits.plan == "pro"')
    assert "1 members" in created
    health = json.loads(run(cli, "graph", "health"))
    assert health["inference_failures"]["failed"] == 0
    run(cli, "graph", "neighbours", "account:nowhere", code=66)


def test_a_rule_file_with_errors_is_refused_with_each_yaml_path(
    cli: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "rules:\n  - id: ok_id\n    kind: role\n    when: 'event.name =='\n    params: {}\n"
    )
    out = run(cli, "graph", "rules", str(bad), code=65)
    assert "rules[0].params.role" in out
