"""The console's intake page in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import Server
from tests.e2e.console_support import start_patiently

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.e2e
def test_the_dashboard_shows_intake_figures_and_latest_events(
    server: Server, keys: dict[str, str], tmp_path: Path
) -> None:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make install does, as root)"
    start_patiently(server)  # Server.start's 30 s is too short on a loaded 2-core machine
    batch = {
        "batch": [
            {
                "type": "track",
                "userId": "li.wei",
                "event": "Renewal Page Viewed",
                "context": {"touchpoint": "wechat"},
            },
            {
                "type": "page",
                "anonymousId": "a-1",
                "name": "Pricing",
                "context": {"touchpoint": "web"},
            },
        ]
    }
    assert (
        httpx.post(f"{server.url}/v1/batch", json=batch, auth=(keys["write_key"], "")).status_code
        == 200
    )
    httpx.post(f"{server.url}/v1/track", json={"event": "no id"}, auth=(keys["write_key"], ""))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(f"{server.url}/")
        page.fill("#key", "crm_ak_wrong")
        page.click("text=Open")
        expect(page.locator("#login-error")).to_contain_text("unknown or revoked API key")
        page.goto(f"{server.url}/#key={keys['admin_key']}")
        expect(page.locator("#t-accepted")).to_have_text("2")
        expect(page.locator("#t-rejected")).to_have_text("1")
        expect(page.locator("#events tbody tr")).to_have_count(2)
        expect(page.locator("#events")).to_contain_text("Renewal Page Viewed")
        expect(page.locator("#stats")).to_contain_text("missing_field: 1")
        assert "key=" not in page.url
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        browser.close()
