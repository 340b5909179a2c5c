"""`crmos demo` as `make run` starts it, in a fresh directory: the console link it prints signs
in and opens the twelve scenarios, each ok with a link to the page that shows it, in four
languages; and the README's shell blocks run as written against it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import CRMOS, free_port
from tests.e2e.console_support import CJK, assert_accessible, browser
from tests.e2e.demo_support import serve_demo

__all__ = ["browser"]  # fixture used by name

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

HEADINGS = {
    "en": "The demo's twelve scenarios",
    "zh-CN": "演示的十二个场景",
    "de": "Die zwölf Szenarien der Demo",
    "ar": "سيناريوهات العرض التوضيحي الاثنا عشر",
}
LINK = re.compile(r"console: (http://\S+/#key=\S+)")
README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(
    r"(?:^<!-- tour-test: skip \((?P<why>[^)]+)\) -->\n)?^```sh\n(?P<body>.*?)^```", re.M | re.S
)
"""A README ``sh`` block, and the marker before it that says why it is not run, if any."""


@dataclass
class Demo:
    """The served demo and the sign-in link it printed."""

    url: str
    link: str
    env: dict[str, str]
    root: Path
    port: int


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`crmos demo` in a fresh home (a small world), serving until the module ends."""
    root = tmp_path_factory.mktemp("demo-tour")
    # As a user runs it: the home is ./.crmos of the working directory, crmos.toml absent.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS_CONFIG=str(root / "absent.toml"), COLUMNS="200")
    port, log = free_port(), root / "demo.log"
    process = serve_demo(env, port, log, "--people", "30", "--host", "127.0.0.1", cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        printed = LINK.search(log.read_text())
        assert printed is not None, log.read_text()
        yield Demo(url, printed.group(1), env, root, port)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_the_console_link_the_demo_prints_opens_every_scenario_ok_with_its_page(
    browser: Browser, demo: Demo
) -> None:
    assert demo.link.startswith(f"{demo.url}/#key=crm_ak_")
    page = browser.new_context(locale="en").new_page()
    page.goto(demo.link)
    expect(page.get_by_role("heading", name=HEADINGS["en"], level=1)).to_be_visible()
    assert "#key=" not in page.url  # the key left the address bar
    expect(page.get_by_role("heading", name="Scenarios ok: 12 of 12")).to_be_visible()
    rows = page.locator("#scenarios tbody tr")
    expect(rows).to_have_count(12)
    expect(page.get_by_text("Every run ended as its scenario expects.")).to_be_visible()
    expect(page.locator("#t-accepted")).to_be_visible()  # today's intake below, by htmx
    assert_accessible(page)
    anchors = [rows.nth(i).get_by_role("link") for i in range(12)]
    links = {a.inner_text(): a.get_attribute("href") for a in anchors}
    assert len(links) == 12, links
    assert links["Identity stitching"].startswith("/profiles/")
    assert links["Framework agreement saga"].startswith("/runs/")
    assert links["Erasure in Germany"].startswith("/dsr/")
    assert links["Conflict repair"] == "/reviews?kind=conflict"
    for name, href in links.items():  # each opens a console page of this workspace
        assert href is not None
        answer = page.goto(f"{demo.url}{href}")
        assert answer is not None and answer.status == 200, (name, href)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{demo.url}{links['Identity stitching']}")
    expect(page.get_by_text("two people: different birthdays").first).to_be_visible()
    page.context.close()


@pytest.mark.parametrize("lang", ["zh-CN", "de", "ar"])
def test_the_scenario_list_reads_in_its_language_with_no_serious_accessibility_issue(
    browser: Browser, demo: Demo, lang: str
) -> None:
    page = browser.new_context(locale=lang).new_page()
    page.goto(demo.link.replace("/#key=", f"/?lang={lang}#key="))
    expect(page.get_by_role("heading", name=HEADINGS[lang], level=1)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    if lang == "zh-CN":
        assert CJK.search(page.locator("#scenarios thead").inner_text())
    expect(page.locator("#scenarios tbody tr")).to_have_count(12)
    assert_accessible(page)
    page.context.close()


def test_another_workspace_still_starts_on_its_intake_page(browser: Browser, demo: Demo) -> None:
    made = subprocess.run(
        [CRMOS, "workspace", "create", "other", "--json"],
        env=demo.env,
        cwd=demo.root,
        capture_output=True,
        check=True,
        timeout=120,
    )
    key = json.loads(made.stdout)["admin_key"]
    page = browser.new_context(locale="en").new_page()
    page.goto(f"{demo.url}/#key={key}")
    expect(page.get_by_role("heading", name="Today's intake", level=1)).to_be_visible()
    expect(page.locator("#scenarios")).to_have_count(0)
    page.context.close()


def readme_blocks() -> tuple[list[str], list[str]]:
    """The README's ``sh`` blocks to run, and the reasons given for those it marks as not run."""
    run, skipped = [], []
    for found in BLOCK.finditer(README.read_text(encoding="utf-8")):
        if found.group("why"):
            skipped.append(found.group("why"))
        else:
            run.append(found.group("body"))
    return run, skipped


def test_the_readme_shell_blocks_run_as_written_against_the_demo(demo: Demo) -> None:
    blocks, skipped = readme_blocks()
    assert len(blocks) >= 6 and len(skipped) <= 3, skipped
    # A user's checkout has .venv beside the README; this one is the interpreter running us.
    venv = demo.root / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.prefix))
    # The README speaks of port 8000, the default; the demo here serves on a free port.
    script = "\n".join(blocks).replace("127.0.0.1:8000", f"127.0.0.1:{demo.port}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-x", "-c", script],
        env=demo.env,
        cwd=demo.root,
        capture_output=True,
        timeout=600,
    )
    said = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, said[-6000:]
    assert "12/12 scenarios ok" in said
    assert "Your policy renewal" in said  # the outbox, read through the API
    assert "refused (exit 65)" in said  # the mistyped CPF
    assert "li.wei@example.com" in said  # the SDK's identify reached the profile
