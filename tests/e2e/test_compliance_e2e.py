"""Scenario 10 against a live `crmos serve`: the complaint, the erasure worker, the letters."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmos.compliance.counterpart import ErasureCounterpart
from tests.e2e.conftest import Server, wait_until


def test_a_live_server_erases_a_german_customer_who_asks_in_a_complaint(
    server: Server, keys: dict[str, str]
) -> None:
    server.start()
    admin = {"Authorization": f"Bearer {keys['admin_key']}"}
    basic = {
        "Authorization": "Basic " + base64.b64encode(f"{keys['write_key']}:".encode()).decode()
    }
    with ErasureCounterpart("erp") as erp:
        erp.hold("anna@example.de", 4)
        settings = {
            "packs": ["gdpr", "dsa"],
            "downstream": [{"name": "erp", "kind": "webhook", "url": erp.url}],
        }
        assert (
            httpx.put(
                f"{server.url}/api/v1/compliance/settings", json=settings, headers=admin
            ).status_code
            == 200
        )
        batch = {
            "batch": [
                {
                    "type": "identify",
                    "userId": "anna",
                    "messageId": "1",
                    "traits": {"email": "anna@example.de", "phone": "+49 89 1234567"},
                },
                {
                    "type": "track",
                    "userId": "anna",
                    "event": "Complaint Submitted",
                    "messageId": "2",
                    "properties": {"text": "Ich möchte, dass Sie meine Daten löschen."},
                },
            ]
        }
        assert httpx.post(f"{server.url}/v1/batch", json=batch, headers=basic).status_code == 200

        def completed() -> list[dict[str, Any]]:
            found = httpx.get(f"{server.url}/api/v1/dsr?status=completed", headers=admin)
            return list(found.json()["data"])

        wait_until(completed, timeout=60, what="the erasure to complete")
        assert erp.records == {}
    [request] = completed()
    german = httpx.get(f"{server.url}/api/v1/dsr/{request['id']}/letter?locale=de", headers=admin)
    assert 'lang="de"' in german.text and "Bestätigung der Löschung" in german.text
    assert request["report"]["verification"]["readable_copies"] == 0
    verified = server.cli("audit", "verify", "--json")
    assert '"intact": true' in verified


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """SQLite only: the integration tests run scenario 10 on PostgreSQL too."""
    return f"sqlite:///{tmp_path}/crmos.db"
