"""`crmos db backup` and `crmos db restore` on SQLite and PostgreSQL (issue 13: backups)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from crmos.store import normalise_url
from crmos.store.tables import events, subject_keys, workspaces
from tests.e2e.conftest import run_cli


def _ingest(cli: CliRunner, folder: Path, name: str, *messages: dict[str, Any]) -> None:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    run_cli(cli, "ingest", str(path))


def _person(user: str, n: int = 3) -> list[dict[str, Any]]:
    traits = {"email": f"{user}@example.com", "name": user.title()}
    first = {"type": "identify", "userId": user, "traits": traits, "messageId": f"{user}-0"}
    views = [
        {"type": "track", "userId": user, "event": "Viewed", "messageId": f"{user}-{i}"}
        for i in range(1, n)
    ]
    return [first, *views]


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The rows that must come back exactly: workspaces, the event log, the data keys."""
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(t.select().order_by(*t.primary_key))]
            for t in (workspaces, events, subject_keys)
        }


@pytest.fixture
def backups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Outside the data directories: the erasure scan would rightly find people in a backup
    (and in the files given to `crmos ingest`, which the tests keep here too)."""
    return tmp_path_factory.mktemp("backups")


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    engine = create_engine(normalise_url(store_url))
    yield engine
    engine.dispose()


def test_a_restore_brings_back_the_backed_up_rows_and_keeps_later_erasures(
    cli: CliRunner, store: Engine, backups: Path
) -> None:
    run_cli(cli, "workspace", "create", "acme")
    _ingest(cli, backups, "first", *_person("ann"), *_person("bob"))
    backed_up = _snapshot(store)
    store.dispose()
    out = run_cli(cli, "db", "backup", str(backups / "b1"), "--json")
    assert json.loads(out)["files"][0] in ("store.sqlite", "store.pgdump")

    _ingest(cli, backups, "later", *_person("cid"))
    erased = json.loads(run_cli(cli, "dsr", "erase", "user_id:bob", "--json"))
    assert erased["status"] == "completed", erased["reason"]
    assert _snapshot(store) != backed_up
    store.dispose()

    out = run_cli(cli, "db", "restore", str(backups / "b1"), "--json")
    report = json.loads(out)
    assert report["keys_destroyed_again"] == 1  # bob's data key stays destroyed
    assert len(report["profiles_erased_again"]) == 1  # and bob's restored rows erased again
    restored = _snapshot(store)
    assert restored["workspaces"] == backed_up["workspaces"]
    users = {row[4] for row in restored["events"]}
    assert users == {"ann"}  # cid came after the backup; bob was erased after it
    ann = [r for r in backed_up["events"] if r[4] == "ann"]
    assert [r for r in restored["events"] if r[4] == "ann"] == ann
    keys = {row[2]: row[3] for row in restored["subject_keys"]}
    assert keys["user:ann"] is not None
    assert not any(s == "user:bob" for s in keys)


def test_a_restore_is_refused_while_another_process_uses_the_store(
    cli: CliRunner, store: Engine, store_url: str, backups: Path
) -> None:
    run_cli(cli, "workspace", "create", "acme")
    run_cli(cli, "db", "backup", str(backups / "b1"))
    if store.dialect.name == "sqlite":
        path = store_url.removeprefix("sqlite:///")
        holder: Any = sqlite3.connect(path)  # as an idle `crmos serve` connection would
        holder.execute("SELECT count(*) FROM workspaces").fetchone()
    else:
        holder = store.connect()
        holder.execute(text("SELECT 1"))
    try:
        out = run_cli(cli, "db", "restore", str(backups / "b1"), code=74)
        assert "stop crmos serve first" in out
    finally:
        holder.close()
        store.dispose()
    run_cli(cli, "db", "restore", str(backups / "b1"))


def test_a_backup_refuses_a_folder_that_holds_files(cli: CliRunner, tmp_path: Path) -> None:
    run_cli(cli, "workspace", "create", "acme")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    out = run_cli(cli, "db", "backup", str(tmp_path / "full"), code=73)
    assert "name a new or empty folder" in out


def test_a_damaged_backup_is_refused_and_the_store_is_left_as_it_was(
    cli: CliRunner, store: Engine, backups: Path
) -> None:
    run_cli(cli, "workspace", "create", "acme")
    manifest = json.loads(run_cli(cli, "db", "backup", str(backups / "b1"), "--json"))
    _ingest(cli, backups, "later", *_person("cid"))
    before = _snapshot(store)
    store.dispose()
    (backups / "b1" / manifest["files"][0]).write_bytes(b"not a backup at all" * 100)
    run_cli(cli, "db", "restore", str(backups / "b1"), code=74)
    assert _snapshot(store) == before
