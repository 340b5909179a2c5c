"""``crmos profiles list|search|reindex`` and ``crmos accounts list|show``."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from tests.e2e.conftest import run_cli as run


def _import(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "workspace", "create", "acme")
    events = [
        {"type": "identify", "userId": "u-1",
         "traits": {"name": "Ann Lee", "email": "ann@example.com",
                    "company": {"id": "globex", "name": "Globex"}}},
        {"type": "identify", "userId": "u-2",
         "traits": {"name": "张伟", "phone": "+8613900001111"}},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b"\n".join(orjson.dumps(e | {"messageId": f"m{i}"}) for i, e in enumerate(events))
    )
    run(cli, "ingest", str(path))
    run(cli, "graph", "sync")  # the whole stream: identity, then the graph


def test_profiles_are_listed_and_searched_from_the_command_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    _import(cli, tmp_path)
    listed = json.loads(run(cli, "profiles", "list", "--json"))
    assert {p["name"] for p in listed["data"]} == {"Ann Lee", "张伟"}
    assert listed["next_cursor"] is None
    found = json.loads(run(cli, "profiles", "search", "张", "--json"))
    assert [p["name"] for p in found["data"]] == ["张伟"]
    found = json.loads(run(cli, "profiles", "search", "ann@exa", "--json"))
    assert [p["email"] for p in found["data"]] == ["ann@example.com"]
    table = run(cli, "profiles", "search", "globex")
    assert found["data"][0]["id"] in table and "Ann Lee" in table
    first = json.loads(run(cli, "profiles", "list", "--limit", "1", "--json"))
    assert first["next_cursor"]
    again = run(cli, "profiles", "list", "--limit", "1", "--cursor", first["next_cursor"], "--json")
    assert json.loads(again)["data"][0]["id"] != first["data"][0]["id"]
    assert "bad cursor" in run(cli, "profiles", "list", "--cursor", "xyz", code=65)
    assert json.loads(run(cli, "profiles", "reindex", "--json"))["profiles"] == 2
    by_value = json.loads(run(cli, "profiles", "list", "--sort", "-clv", "--json"))
    assert len(by_value["data"]) == 2 and by_value["data"][0]["clv"] is None  # none scored yet
    assert json.loads(run(cli, "profiles", "list", "--clv-min", "1", "--json"))["data"] == []
    assert "clv_min" in run(cli, "profiles", "list", "--clv-min", "9", "--clv-max", "1", code=2)


def test_accounts_are_listed_and_shown_from_the_command_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    _import(cli, tmp_path)
    listed = json.loads(run(cli, "accounts", "list", "--json"))
    assert [a["id"] for a in listed["data"]] == ["account:globex"]
    shown = json.loads(run(cli, "accounts", "show", "globex", "--json"))
    assert [p["profile"]["name"] for p in shown["people_list"]] == ["Ann Lee"]
    assert "Ann Lee" in run(cli, "accounts", "show", "account:globex")
    assert "not found" in run(cli, "accounts", "show", "nope", code=66)


def test_profiles_are_filtered_by_audience_role_and_consent_from_the_command_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    _import(cli, tmp_path)
    listed = json.loads(run(cli, "profiles", "list", "--json"))["data"]
    ann = next(p["id"] for p in listed if p["name"] == "Ann Lee")
    run(cli, "compliance", "consent", ann, "marketing", "granted", "--channel", "email")
    granted = run(cli, "profiles", "list", "--consent", "marketing:email:granted", "--json")
    assert [p["id"] for p in json.loads(granted)["data"]] == [ann]
    made = run(cli, "graph", "audiences", "create", "ann-only", 'traits.name == "Ann Lee"')
    audience = made.split()[0]
    members = run(cli, "profiles", "search", "example", "--audience", audience, "--json")
    assert [p["id"] for p in json.loads(members)["data"]] == [ann]
    nobody = run(cli, "profiles", "list", "--role", "technical_decision_maker", "--json")
    assert json.loads(nobody)["data"] == []
    assert "PURPOSE:CHANNEL:STATE" in run(cli, "profiles", "list", "--consent", "marketing", code=2)
