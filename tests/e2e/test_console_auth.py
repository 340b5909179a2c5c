"""Signing in to the console and its safety: session cookie, CSRF, read-only keys."""

from __future__ import annotations

import hashlib
import hmac
import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.console_support import World, browser, merged_pair, signed_in, world

__all__ = ["browser", "world"]  # fixtures used by name

pytestmark = pytest.mark.e2e


def test_a_key_link_signs_in_with_a_strict_http_only_cookie_and_no_key_in_any_url_or_log(
    browser: Browser, world: World
) -> None:
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{world.server.url}/#key={world.admin_key}")
    expect(page.locator("#t-accepted")).to_be_visible()
    assert world.admin_key not in page.url
    assert not [url for url in requested if world.admin_key in url]
    (cookie,) = [c for c in context.cookies() if c["name"] == "crmos_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert world.admin_key not in cookie["value"]
    assert world.admin_key not in world.server.log.read_text()
    context.close()


def test_the_sign_in_form_refuses_an_unknown_key_then_opens_the_page_asked_for(
    browser: Browser, world: World
) -> None:
    page = browser.new_page()
    page.goto(f"{world.server.url}/people")
    page.get_by_label("API key").fill("crm_ak_not-a-key")
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked API key")
    page.get_by_label("API key").fill(world.admin_key)
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    assert page.url.endswith("/people")
    page.close()


def test_an_action_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    world: World,
) -> None:
    survivor, _, merge_id = merged_pair(world)
    with httpx.Client(base_url=world.server.url) as client:
        form = client.get("/").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        signed = client.post("/sign-in", data={"key": world.admin_key, "csrf": csrf.group(1)})
        assert signed.status_code == 303
        split = {"reason": "forged", "merge_id": merge_id}
        assert client.post(f"/profiles/{survivor}/split", data=split).status_code == 403
        forged = split | {"csrf": "not-the-token"}
        assert client.post(f"/profiles/{survivor}/split", data=forged).status_code == 403
    merges = world.api("GET", f"/api/v1/profiles/{survivor}").json()["merges"]
    assert [m["active"] for m in merges if m["id"] == merge_id] == [True]


def test_a_read_only_key_sees_the_whole_profile_but_no_action_and_cannot_act(
    browser: Browser, world: World
) -> None:
    survivor, _, merge_id = merged_pair(world)
    admin = signed_in(browser, world, world.admin_key)
    admin.goto(f"{world.server.url}/profiles/{survivor}")
    expect(admin.get_by_role("button", name="Split").first).to_be_visible()
    reader = signed_in(browser, world, world.read_key)
    reader.goto(f"{world.server.url}/profiles/{survivor}")
    expect(reader.get_by_role("heading", name="Merges")).to_be_visible()
    expect(reader.get_by_text(merge_id)).to_be_visible()
    expect(reader.get_by_text("Read-only key")).to_be_visible()
    expect(reader.get_by_role("button", name="Split")).to_have_count(0)
    csrf = reader.locator("body").get_attribute("data-csrf")
    refused = reader.request.post(
        f"{world.server.url}/profiles/{survivor}/split",
        form={"csrf": csrf or "", "reason": "not allowed", "merge_id": merge_id},
    )
    assert refused.status == 403
    merges = world.api("GET", f"/api/v1/profiles/{survivor}").json()["merges"]
    assert [m["active"] for m in merges if m["id"] == merge_id] == [True]
    admin.context.close()
    reader.context.close()


def test_a_sign_in_post_without_the_forms_signed_token_is_refused_even_with_the_cookie(
    world: World,
) -> None:
    with httpx.Client(base_url=world.server.url) as client:
        form = client.get("/sign-in").text  # the visitor's cookie, and the form's token
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        cookie = client.cookies["crmos_session"]
        # What a cross-site form can send: the cookie (were it to travel), never the token.
        # A token made up from the cookie (as an unsigned double-submit would accept) fails.
        made_up = hmac.new(cookie.encode(), b"crmos console csrf", hashlib.sha256).hexdigest()
        real = token.group(1)
        tampered = real[:-1] + ("1" if real.endswith("0") else "0")
        for csrf in ("", made_up, tampered):
            refused = client.post("/sign-in", data={"key": world.admin_key, "csrf": csrf})
            assert refused.status_code == 403, csrf
        # The right token, but the browser says another site sent the form.
        cross = client.post(
            "/sign-in",
            data={"key": world.admin_key, "csrf": real},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403
        assert "crmos_session" not in cross.headers.get("set-cookie", "")
        signed = client.post(
            "/sign-in",
            data={"key": world.admin_key, "csrf": real},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        assert signed.status_code == 303
        assert client.cookies["crmos_session"] != cookie  # a fresh session: no fixation
