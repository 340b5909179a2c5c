"""The console on each store, PostgreSQL included, served by `crmos serve`: a person signs in,
finds a customer who just arrived through intake, and stays signed in across a restart of the
server (the session lives in the store, not in the process)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, wait_until
from tests.e2e.console_support import assert_accessible, browser

__all__ = ["browser"]  # a fixture used by name

pytestmark = pytest.mark.e2e


def _profile_of(server: Server, admin: str, email: str) -> str | None:
    found = httpx.get(
        f"{server.url}/api/v1/profiles",
        params={"identifier": f"email:{email}"},
        headers={"Authorization": f"Bearer {admin}"},
    ).json()["data"]
    return str(found[0]["id"]) if found else None


def test_a_customer_sent_through_intake_is_found_and_the_session_survives_a_restart(
    server: Server, keys: dict[str, str], browser: Browser
) -> None:
    server.start()
    email, name = "ines.moreau@example.fr", "Inès Moreau"
    sent = httpx.post(
        f"{server.url}/v1/identify",
        json={"userId": "im-1", "traits": {"email": email, "name": name}},
        auth=(keys["write_key"], ""),
    )
    assert sent.status_code == 200, sent.text
    pid = wait_until(lambda: _profile_of(server, keys["admin_key"], email), what="the profile")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/people#key={keys['admin_key']}")
    search = page.get_by_role("search").get_by_role("searchbox", name="Search customers")
    search.fill(email)
    page.get_by_role("search").get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=name, exact=True)
    expect(link).to_have_attribute("href", f"/profiles/{pid}")
    assert_accessible(page)

    server.stop()
    server.start()
    link.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    assert_accessible(page)
    context.close()
