"""Every shell block in docs/ runs as written against the demo world.

Each guide's ``sh``, ``bash`` and ``console`` blocks run in one ``bash -euo pipefail`` script,
in a directory whose ``.crmos`` is a copy of the seeded demo world (tests/e2e/conftest.py:
``crmos demo --no-serve``, 30 people, once per worker) while `crmos serve` serves it, as a user
runs them after `make run` with the virtualenv active. ``AK`` holds the demo's admin key, as
the README's tour sets it; ``localhost:8000`` becomes the test server's port. A block that
cannot run here carries the README's marker with the reason, ``<!-- tour-test: skip (why) -->``,
on the line before it.
tests/e2e/test_demo_docs_commands.py parses every command, run or not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CRMOS, Server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DOCS = Path(__file__).parents[2] / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(
    r"(?:^<!-- tour-test: skip \((?P<why>[^)]+)\) -->\n)?^```(?P<lang>sh|bash|console)\n"
    r"(?P<body>.*?)^```",
    re.M | re.S,
)
RUN = [p for p in GUIDES if BLOCK.search(p.read_text(encoding="utf-8"))]
"""The guides with shell blocks (intake.md and keys.md are references without any)."""
LOCAL = re.compile(r"(?:localhost|127\.0\.0\.1):8000")


@dataclass(frozen=True, slots=True)
class Block:
    """One shell block of a guide: its commands, or why it is not run."""

    body: str
    skipped: str | None


def blocks(page: Path) -> list[Block]:
    """The shell blocks of a guide; a ``console`` block's commands are its ``$`` lines."""
    found = []
    for match in BLOCK.finditer(page.read_text(encoding="utf-8")):
        body = match.group("body")
        if match.group("lang") == "console":
            body = "".join(line[2:] + "\n" for line in body.splitlines() if line.startswith("$ "))
        found.append(Block(body, match.group("why")))
    return found


@dataclass(frozen=True, slots=True)
class DocsWorld:
    """The served copy of the demo world and the directory the guides' blocks run in."""

    root: Path
    env: dict[str, str]
    server: Server


@pytest.fixture(scope="module")
def docs_world(tmp_path_factory: pytest.TempPathFactory, seeded_demo: Path) -> Iterator[DocsWorld]:
    """A copy of the seeded demo world as ``./.crmos`` of a fresh directory, served."""
    root = tmp_path_factory.mktemp("docs")
    home = root / ".crmos"
    shutil.copytree(seeded_demo / "home", home)
    for part in seeded_demo.glob("crmos.db*"):
        shutil.copy(part, home / part.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    keys = json.loads((home / "demo-keys.json").read_text())
    env.update(CRMOS__HOME=str(home), CRMOS_CONFIG=str(root / "absent.toml"), COLUMNS="200")
    env.update(AK=keys["admin_key"], WK=keys["write_key"])
    env["PATH"] = f"{Path(CRMOS).parent}{os.pathsep}{env['PATH']}"  # as `source .venv/bin/activate`
    server = Server(env)
    server.start(timeout=180)
    try:
        yield DocsWorld(root, env, server)
    finally:
        server.stop()


def run_blocks(world: DocsWorld, page: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a guide's blocks (those not marked as skipped) as one script in the world."""
    script = "\n".join(b.body for b in blocks(page) if b.skipped is None)
    script = LOCAL.sub(f"127.0.0.1:{world.server.port}", script)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-x", "-c", script],
        env=world.env,
        cwd=world.root,
        capture_output=True,
        timeout=600,
    )


def test_crmos_serve_on_the_demo_world_opens_the_console_on_the_twelve_scenarios(
    docs_world: DocsWorld,
) -> None:
    url = docs_world.server.url
    with httpx.Client(base_url=url, timeout=120) as browser:
        form = browser.get("/sign-in").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None, form
        signed = browser.post("/sign-in", data={"key": docs_world.env["AK"], "csrf": csrf[1]})
        assert signed.status_code == 303, signed.text
        start = browser.get("/")
    assert start.status_code == 200
    assert "The demo&#39;s twelve scenarios" in start.text or "The demo's twelve" in start.text
    assert len(re.findall(r'<tr id="scenario-\d+">', start.text)) == 12
    demo = httpx.get(
        f"{url}/api/v1/demo/scenarios",
        headers={"Authorization": f"Bearer {docs_world.env['AK']}"},
        timeout=120,
    )
    assert demo.status_code == 200 and len(demo.json()["data"]) == 12


@pytest.mark.parametrize("page", RUN, ids=lambda p: p.name)
def test_every_shell_block_of_the_guide_runs_as_written_against_the_demo_world(
    docs_world: DocsWorld, page: Path
) -> None:
    done = run_blocks(docs_world, page)
    said = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, said[-6000:]


@pytest.mark.parametrize("page", GUIDES, ids=lambda p: p.name)
def test_a_block_is_left_out_only_with_its_reason(page: Path) -> None:
    for block in blocks(page):
        assert block.skipped is None or len(block.skipped) > 15, block
    text = page.read_text(encoding="utf-8")
    unlabelled = re.findall(r"^```\n(crmos .*?)^```", text, re.M | re.S)
    assert not unlabelled, f"label these blocks sh so they are run: {unlabelled}"
