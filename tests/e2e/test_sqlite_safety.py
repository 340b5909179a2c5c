"""Issue 13, finding 1: an erasure inside `crmos serve` must not cost the server its SQLite locks.

The proof scan used to read crmos.db and its -wal/-shm with ordinary file handles. Closing any
handle on a SQLite file drops every POSIX lock the process holds on it, so the next `crmos`
command to exit believed it was the last user, checkpointed and deleted the server's WAL; the
server went on appending to the deleted file and a kill -9 lost what it had acknowledged.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, wait_until
from tests.e2e.test_live_server import read_events

# Starting takes a few seconds alone and over half a minute on a loaded shared machine.
START_S = 120.0


def _identify(server: Server, write_key: str, user_id: str, message_id: str) -> None:
    event = {"userId": user_id, "messageId": message_id, "traits": {"email": f"{user_id}@x.io"}}
    response = httpx.post(f"{server.url}/v1/identify", json=event, auth=(write_key, ""))
    assert response.status_code == 200, response.text


def _has_profile(server: Server, admin: dict[str, str], identifier: str) -> bool:
    found = httpx.get(
        f"{server.url}/api/v1/profiles", params={"identifier": identifier}, headers=admin
    )
    return found.status_code == 200 and bool(found.json()["data"])


@pytest.mark.e2e
def test_events_answered_after_an_erasure_and_a_cli_command_survive_kill_9(
    server: Server, keys: dict[str, str]
) -> None:
    server.start(START_S)
    admin = {"Authorization": f"Bearer {keys['admin_key']}"}
    _identify(server, keys["write_key"], "ann", "before-0")
    _identify(server, keys["write_key"], "bob", "before-1")
    wait_until(lambda: _has_profile(server, admin, "user_id:bob"), what="bob's profile")
    erasure = {"kind": "erasure", "identifier": {"type": "user_id", "value": "bob"}}
    answered = httpx.post(f"{server.url}/api/v1/dsr", json=erasure, headers=admin, timeout=60)
    assert answered.status_code == 201, answered.text
    server.cli("workspace", "list")  # another process opens and closes the database
    _identify(server, keys["write_key"], "cid", "after-0")
    _identify(server, keys["write_key"], "dan", "after-1")
    server.kill()
    server.start(START_S)
    stored = {e["messageId"] for e in read_events(server, keys["admin_key"])}
    assert {"before-0", "after-0", "after-1"} <= stored


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """SQLite only: the hazard is SQLite's POSIX locks."""
    return f"sqlite:///{tmp_path}/crmos.db"
