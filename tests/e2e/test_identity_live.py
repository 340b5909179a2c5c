"""A real ``crmos serve``: events from the Segment SDK are stitched while the server runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from segment.analytics import Client

from tests.e2e.conftest import Server, wait_until


def profiles(server: Server, admin_key: str, identifier: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/v1/profiles",
        params={"identifier": identifier},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


@pytest.mark.e2e
def test_the_running_server_merges_profiles_as_soon_as_an_event_links_them(
    server: Server, keys: dict[str, str]
) -> None:
    server.start()
    sdk = Client(keys["write_key"], host=server.url)
    sdk.track(anonymous_id="cookie-9", event="Pricing Viewed", properties={})
    sdk.identify("user-9", {"email": "Mei@Example.cn"})
    sdk.flush()
    admin = keys["admin_key"]
    wait_until(lambda: profiles(server, admin, "user_id:user-9"), what="the user's profile")
    wait_until(lambda: profiles(server, admin, "anonymous_id:cookie-9"), what="the cookie's")
    before = profiles(server, admin, "anonymous_id:cookie-9")[0]["id"]
    sdk.alias("cookie-9", "user-9")  # previous id, new user id
    sdk.flush()
    sdk.shutdown()

    def merged() -> bool:
        found = profiles(server, admin, "anonymous_id:cookie-9")
        return bool(found) and found[0]["id"] != before

    wait_until(merged, timeout=10, what="the merge")
    (profile,) = profiles(server, admin, "email:mei@example.cn")
    assert profile["merged_ids"] == [before]
    assert profile["traits"] == {"email": "Mei@Example.cn"}
    assert profile["merges"][0]["evidence"]["event"]["source"] == "default"
