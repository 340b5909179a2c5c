"""``crmos identity``: stitch imported events, show, merge, split, review, settings."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from tests.e2e.conftest import run_cli as run


def test_imported_events_are_stitched_shown_merged_and_split_from_the_command_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    run(cli, "workspace", "create", "acme")
    run(cli, "identity", "config", "--set", 'default_region="DE"')
    events = [
        {"type": "identify", "userId": "u-1", "traits": {"email": "Ann@Example.com"}},
        {"type": "identify", "anonymousId": "c-1", "traits": {"phone": "0151 23456789"}},
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b"\n".join(orjson.dumps(e | {"messageId": f"m{i}"}) for i, e in enumerate(events))
    )
    run(cli, "ingest", str(path))
    assert "stitched 2 events" in run(cli, "identity", "stitch")
    ann = json.loads(run(cli, "identity", "show", "email:ann@example.com", "--json"))
    phone = json.loads(run(cli, "identity", "show", "phone:+4915123456789", "--json"))
    assert ann["id"] != phone["id"]
    assert "no profile holds email:bob@example.com" in run(
        cli, "identity", "show", "email:bob@example.com", code=1
    )
    assert "not an e-mail address" in run(cli, "identity", "show", "email:bob@", code=65)
    out = run(cli, "identity", "merge", ann["id"], phone["id"], "--reason", "same customer")
    assert f"merged {phone['id']} into {ann['id']}" in out
    shown = run(cli, "identity", "show", phone["id"])
    assert "+4915123456789" in shown and "active" in shown
    out = run(cli, "identity", "split", phone["id"], "--reason", "different people")
    assert "(2 identifiers, 1 events)" in out
    assert "was never merged" in run(cli, "identity", "split", ann["id"], "--reason", "x", code=65)
    assert "[]" in run(cli, "identity", "review", "--json")
    bad = run(cli, "identity", "config", "--set", 'limits={"fax": 1}', code=65)
    assert "unknown identifier type 'fax'" in bad
