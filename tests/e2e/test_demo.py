"""`crmos demo` in a fresh home: every scenario of the design acted out and judged ok; run
again, it serves the outbox and the scenarios over HTTP, stores nothing twice, brings no erased
person back, and its counterparts are gone when it stops."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from crmos.cli import app
from tests.e2e.conftest import CRMOS, free_port
from tests.e2e.demo_support import serve_demo

# The machine is shared: the demo takes about a minute alone, several under load.
pytestmark = pytest.mark.timeout(900)
SMALL_WORLD = ("--people", "60", "--deadline", "240")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS__HOME=str(tmp_path / "home"), CRMOS_CONFIG=str(tmp_path / "absent.toml"))
    return env | {"COLUMNS": "200"}


def _crmos(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([CRMOS, *args], env=env, capture_output=True, timeout=600)


def test_demo_judges_all_twelve_scenarios_ok_then_serves_them_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    done = _crmos(env, "demo", "--no-serve", *SMALL_WORLD)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output
    assert "12/12 scenarios ok" in output
    assert "every run ended as its scenario expects" in output

    listed = _crmos(env, "demo", "scenarios", "--json")
    assert listed.returncode == 0, listed.stdout.decode() + listed.stderr.decode()
    judged = json.loads(listed.stdout)
    assert judged["unexpected_runs"] == []
    scenarios = judged["scenarios"]
    assert [s["number"] for s in scenarios] == list(range(1, 13))
    assert {s["number"]: s["reason"] for s in scenarios if s["status"] != "ok"} == {}
    pages = [s["console"] for s in scenarios]  # each names the console page that shows it
    assert all(p.startswith("http://127.0.0.1:8000/") for p in pages), pages
    commands = [w for s in scenarios for w in s["where"] if w.startswith("crmos ")]
    assert len(commands) >= 12
    runner = CliRunner()
    for command in commands:  # every command the list points to runs as written (in process)
        ran = runner.invoke(app, shlex.split(command)[1:], env=env)
        assert ran.exit_code == 0, (command, ran.output, ran.exception)

    _serve_again(env, tmp_path)


def _serve_again(env: dict[str, str], tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    process = serve_demo(env, port, log, *SMALL_WORLD)
    url = f"http://127.0.0.1:{port}"

    home = tmp_path / "home"
    try:
        key = json.loads((home / "demo-keys.json").read_text())["admin_key"]
        auth = {"Authorization": f"Bearer {key}"}
        outbox = httpx.get(f"{url}/api/v1/demo/outbox", headers=auth, timeout=30).json()
        subjects = {m["subject"] for m in outbox["data"]}
        assert "Your policy renewal" in subjects, subjects
        assert any("return on investment" in s for s in subjects), subjects
        judged = httpx.get(f"{url}/api/v1/demo/scenarios", headers=auth, timeout=120).json()
        assert {s["number"]: s["reason"] for s in judged["data"] if s["status"] != "ok"} == {}
        assert judged["ok"] == 12
        assert judged["unexpected_runs"] == []
        stage = json.loads((home / "demo" / "stage.json").read_text())
        smtp_port = int(stage["smtp"].rsplit(":", 1)[1])
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    said = log.read_text()
    assert "0 events stored" in said and "0 runs started" in said, said
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", smtp_port), timeout=2):
        pass
