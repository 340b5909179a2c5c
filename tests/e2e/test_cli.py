"""The `crmos` command line, run in-process with Typer's runner against a real store."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import run_cli as run


def test_workspace_create_prints_a_write_key_and_an_admin_key_once(cli: CliRunner) -> None:
    keys = json.loads(run(cli, "workspace", "create", "acme", "--json"))
    assert keys["workspace_id"].startswith("ws_")
    assert keys["write_key"].startswith("crm_wk_")
    assert keys["admin_key"].startswith("crm_ak_")
    again = run(cli, "workspace", "create", "acme", code=73)
    assert "workspace 'acme' already exists" in again


def test_config_show_masks_secrets_and_describes_every_setting(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("CRMOS__SECURITY__MASTER_KEY", secret)
    shown = json.loads(run(cli, "config", "show", "--json"))
    assert shown["security"]["master_key"] == "***"
    table = run(cli, "config", "show")
    assert secret not in table
    assert "CRMOS__INTAKE__MAX_EVENT_BYTES" in table
    assert "Segment: 32 KB" in table


def test_config_show_hides_the_database_password(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMOS__STORE__URL", "postgresql://crm:hunter2@db:5432/crmos")
    shown = json.loads(run(cli, "config", "show", "--json"))
    assert shown["store"]["url"] == "postgresql://crm:***@db:5432/crmos"


def test_settings_come_from_crmos_toml_too(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "crmos.toml"
    toml.write_text("[intake]\nmax_event_bytes = 1000\n")
    monkeypatch.setenv("CRMOS_CONFIG", str(toml))
    assert json.loads(run(cli, "config", "show", "--json"))["intake"]["max_event_bytes"] == 1000


def test_production_refuses_to_start_without_a_master_key(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMOS__ENV", "production")
    out = run(cli, "db", "migrate", code=78)
    assert "security.master_key" in out


def test_db_migrate_reports_the_revision(cli: CliRunner) -> None:
    from crmos.store import head_revision

    assert f"store at revision {head_revision()}" in run(cli, "db", "migrate")


def test_ingest_jsonl_reports_accepted_duplicates_and_rejected_lines(
    cli: CliRunner, tmp_path: Path
) -> None:
    run(cli, "workspace", "create", "acme")
    lines = [
        {"type": "track", "userId": "u1", "event": "A", "messageId": "m1"},
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"email": "x@example.com"},
            "messageId": "m2",
        },
        {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "m3"},
        {"type": "track", "event": "no id", "messageId": "m4"},
        {"type": "track", "userId": "u1", "event": "A", "messageId": "m1"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    out = run(cli, "ingest", str(path))
    assert "accepted 3, duplicates 1, rejected 1" in out
    assert "line[4].userId" in out
    assert "accepted 0, duplicates 4, rejected 1" in run(cli, "ingest", str(path))


def test_ingest_csv_maps_dotted_columns_into_the_message(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "workspace", "create", "acme")
    path = tmp_path / "pos.csv"
    path.write_text(
        "type,userId,event,messageId,properties.total,properties.store,context.touchpoint\n"
        "track,p1,Order Completed,c1,99.5,Shanghai-3,pos\n"
        "track,p2,Order Completed,c2,,Beijing-1,pos\n"
    )
    assert "accepted 2, duplicates 0, rejected 0" in run(cli, "ingest", str(path))
    tail = [
        json.loads(line) for line in run(cli, "events", "tail", "-n", "2", "--json").splitlines()
    ]
    assert tail[0]["properties"] == {"total": 99.5, "store": "Shanghai-3"}
    assert tail[0]["touchpoint"] == "pos"
    assert tail[1]["properties"] == {"store": "Beijing-1"}


def test_ingest_names_an_unsupported_file_type(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "workspace", "create", "acme")
    path = tmp_path / "events.xml"
    path.write_text("<x/>")
    assert "use a .jsonl or .csv file" in run(cli, "ingest", str(path), code=65)


def test_events_tail_without_a_workspace_lists_the_choices(cli: CliRunner) -> None:
    run(cli, "workspace", "create", "a")
    run(cli, "workspace", "create", "b")
    assert "--workspace" in run(cli, "events", "tail", code=65)
