"""A demo world served by `crmos serve`, and Debian's Chromium, shared by the console tests.

The world is seeded once per session (`crmos demo --no-serve`, 30 people, on SQLite: the
`seeded_demo` fixture of tests/e2e/conftest.py); each test module serves its own copy of it, so
what one module's tests change is never seen by another's. The read-only key is issued through
the workspace store, as no API call issues one yet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crmos.bootstrap import build
from crmos.core.settings import Settings
from tests.e2e.conftest import Server

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class World:
    """The served demo workspace and its keys."""

    server: Server
    admin_key: str
    read_key: str
    workspace_id: str
    write_key: str = ""

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the management API with the admin key."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        return httpx.request(method, f"{self.server.url}{path}", headers=headers, **kwargs)

    def profile_of(self, email: str) -> str:
        """The live profile holding an e-mail address."""
        found = self.api("GET", "/api/v1/profiles", params={"identifier": f"email:{email}"})
        return str(found.json()["data"][0]["id"])

    def an_email(self) -> str:
        """An e-mail address of some demo customer with a name."""
        events = self.api("GET", "/api/v1/events", params={"type": "identify", "limit": 200})
        for event in events.json()["data"]:
            traits = event.get("traits") or {}
            if traits.get("email") and traits.get("name"):
                return str(traits["email"])
        raise AssertionError("the demo world has no identify event with an e-mail and a name")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, seeded_demo: Path) -> Iterator[World]:
    """A copy of the seeded demo world, served."""
    root = tmp_path_factory.mktemp("console")
    shutil.copytree(seeded_demo, root, dirs_exist_ok=True)
    home = root / "home"
    url = f"sqlite:///{root}/crmos.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS__HOME=str(home), CRMOS__STORE__URL=url)
    server = Server(env)
    keys = json.loads((home / "demo-keys.json").read_text())
    container = build(Settings(home=home, store={"url": url}), migrate_store=False)
    try:
        reader = container.workspaces.issue_key(keys["workspace_id"], "reader", ("read",), "ui")
    finally:
        container.close()
    start_patiently(server)
    try:
        yield World(
            server, keys["admin_key"], reader.secret, keys["workspace_id"], keys["write_key"]
        )
    finally:
        server.stop()


def start_patiently(server: Server) -> None:
    """`crmos serve`, waited for as long as Server.start waits: on a loaded 2-core machine the
    first start after seeding takes over 30 s (imports, migrations check, workers)."""
    server.start(timeout=180)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, never a downloaded one."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make install does, as root)"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def signed_in(browser: Browser, world: World, key: str, lang: str = "en") -> Page:
    """A fresh browser context signed in through a `#key=` link, in ``lang``."""
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{world.server.url}/?lang={lang}#key={key}")
    expect(page.locator("#t-accepted")).to_be_visible()
    return page


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page."""
    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)


def two_profiles(world: World) -> tuple[str, str]:
    """Two different live profiles of named demo customers."""
    events = world.api("GET", "/api/v1/events", params={"type": "identify", "limit": 500})
    found: list[str] = []
    for event in events.json()["data"]:
        email = (event.get("traits") or {}).get("email")
        if email:
            pid = world.profile_of(email)
            if pid not in found:
                found.append(pid)
        if len(found) == 2:
            return found[0], found[1]
    raise AssertionError("the demo world has fewer than two profiles with an e-mail")


def merged_pair(world: World) -> tuple[str, str, str]:
    """Merge two profiles through the API; returns (survivor, other, merge id)."""
    survivor, other = two_profiles(world)
    body = {"survivor_id": survivor, "other_id": other, "reason": "same person at two desks"}
    answer = world.api("POST", "/api/v1/profiles/merge", json=body)
    assert answer.status_code == 200, answer.text
    return survivor, other, str(answer.json()["merge_id"])


def pending_recommendation(world: World, email: str) -> dict[str, Any]:
    """A high-impact recommendation for the sender of an e-mail, waiting for approval."""
    message = EmailMessage()
    message["From"] = email
    message["To"] = "sales@example.com"
    message["Subject"] = "Expansion"
    message.set_content(
        "We plan to expand to 300 more seats next quarter, a budget of USD 250,000."
    )
    files = {"file": ("expansion.eml", message.as_bytes())}
    answer = world.api("POST", "/api/v1/interactions", files=files, timeout=120)
    assert answer.status_code == 201, answer.text
    (rec,) = answer.json()["recommendations"]
    assert rec["status"] == "pending", rec
    return dict(rec)
