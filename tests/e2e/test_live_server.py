"""A real `crmos serve` process: the official Segment SDK, durability across kill -9."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from segment.analytics import Client

from tests.e2e.conftest import Server, wait_until


def read_events(server: Server, admin_key: str, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/v1/events",
        params={"limit": 1000, **params},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


@pytest.mark.e2e
@pytest.mark.parametrize("gzip", [False, True])
def test_the_official_segment_python_sdk_sends_to_crmos_unchanged(
    server: Server, keys: dict[str, str], gzip: bool
) -> None:
    server.start()
    errors: list[Exception] = []
    sdk = Client(
        keys["write_key"], host=server.url, gzip=gzip, on_error=lambda e, _: errors.append(e)
    )
    sdk.identify("user-42", {"email": "mei@example.cn", "plan": "enterprise"})
    sdk.track("user-42", "Renewal Page Viewed", {"path": "/renewal/compare"})
    sdk.page("user-42", "Docs", "API", {"path": "/docs/api"})
    sdk.screen("user-42", "App", "Home")
    sdk.group("user-42", "acme-ltd", {"name": "Acme Ltd"})
    sdk.alias("anon-7", "user-42")
    sdk.flush()
    sdk.shutdown()
    assert errors == []
    stored = read_events(server, keys["admin_key"], user_id="user-42")
    assert [e["type"] for e in stored] == ["identify", "track", "page", "screen", "group", "alias"]
    assert stored[0]["traits"] == {"email": "mei@example.cn", "plan": "enterprise"}
    assert stored[1]["properties"] == {"path": "/renewal/compare"}
    assert stored[0]["context"]["library"]["name"] == "analytics-python"
    assert all(e["messageId"] for e in stored)


@pytest.mark.e2e
def test_an_answered_batch_survives_kill_9_of_the_server(
    server: Server, keys: dict[str, str]
) -> None:
    server.start()
    batch = {
        "batch": [
            {"type": "track", "userId": "k9", "event": f"E{i}", "messageId": f"k9-{i}"}
            for i in range(50)
        ]
    }
    response = httpx.post(f"{server.url}/v1/batch", json=batch, auth=(keys["write_key"], ""))
    assert response.status_code == 200
    server.kill()
    server.start()
    wait_until(
        lambda: len(read_events(server, keys["admin_key"], user_id="k9")) == 50, what="50 events"
    )
    # The retried batch is recognised after the restart too.
    again = httpx.post(f"{server.url}/v1/batch", json=batch, auth=(keys["write_key"], ""))
    assert again.status_code == 200
    assert len(read_events(server, keys["admin_key"], user_id="k9")) == 50
