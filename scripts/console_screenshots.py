"""Take the console's screenshots for the README (docs/console/*.png) with Playwright.

Seeds a demo world in a temporary folder (`crmos demo --no-serve`), serves it with
`crmos serve`, signs in with the demo's admin key in Debian's Chromium and photographs the
main views, one of them in Arabic (right to left). Run from the repository root:

    python scripts/console_screenshots.py [--out docs/console] [--people 30]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

CRMOS = str(Path(sys.executable).with_name("crmos"))
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, deadline_s: float = 180.0) -> None:
    """Poll ``url`` until it answers 200 (a start on a loaded machine takes a while)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # polling a server process that is starting
    raise SystemExit(f"{url} did not answer within {deadline_s:.0f} s")


def _shots(page: Page, base: str, admin: str, out: Path) -> list[Path]:
    """Photograph the views; returns the files written."""
    headers = {"Authorization": f"Bearer {admin}"}
    people = httpx.get(f"{base}/api/v1/profiles", params={"limit": 5}, headers=headers).json()
    pid = people["data"][0]["id"]
    accounts = httpx.get(f"{base}/api/v1/accounts", headers=headers).json()["data"]
    views = {
        "people": "/people",
        "profile": f"/profiles/{pid}",
        "account": f"/accounts/{accounts[0]['id']}" if accounts else "/accounts",
        "runs": "/runs",
        "health": "/health",
        "compliance": "/compliance",
        "profile-ar": f"/profiles/{pid}?lang=ar",
    }
    written = []
    for name, path in views.items():
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        target = out / f"{name}.png"
        page.screenshot(path=str(target), full_page=name == "health")
        written.append(target)
    page.goto(f"{base}/people?lang=en")  # leave the language as it was
    return written


def main() -> None:
    """Seed, serve, photograph, stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/console"))
    parser.add_argument("--people", type=int, default=30)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
        env |= {"CRMOS__HOME": f"{tmp}/home", "CRMOS__STORE__URL": f"sqlite:///{tmp}/crmos.db"}
        seed = [CRMOS, "demo", "--no-serve", "--people", str(args.people)]
        subprocess.run(seed, env=env, check=True, capture_output=True)
        admin = json.loads(Path(f"{tmp}/home/demo-keys.json").read_text())["admin_key"]
        port = _port()
        serve = [CRMOS, "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(
            serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(f"{base}/healthz")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                page = context.new_page()
                page.goto(f"{base}/?lang=en#key={admin}")
                page.wait_for_selector("nav")
                for path in _shots(page, base, admin, args.out):
                    print(path)  # noqa: T201
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
