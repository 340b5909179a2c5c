"""`crmos demo` in a fresh home: every scenario of the design acted out and judged ok, the demo
server's outbox readable over HTTP, and the counterparts gone when it stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CRMOS, free_port
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(300)
SMALL_WORLD = ("--people", "60", "--deadline", "120")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS__HOME=str(tmp_path / "home"), CRMOS_CONFIG=str(tmp_path / "absent.toml"))
    return env | {"COLUMNS": "200"}


def test_demo_without_serving_judges_all_twelve_scenarios_ok_and_repeats_idempotently(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    done = subprocess.run(
        [CRMOS, "demo", "--no-serve", *SMALL_WORLD], env=env, capture_output=True, timeout=280
    )
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output
    assert "12/12 scenarios ok" in output

    listed = subprocess.run(
        [CRMOS, "demo", "scenarios", "--json"], env=env, capture_output=True, timeout=120
    )
    assert listed.returncode == 0, listed.stdout.decode() + listed.stderr.decode()
    scenarios = json.loads(listed.stdout)["scenarios"]
    assert [s["number"] for s in scenarios] == list(range(1, 13))
    failed = {s["number"]: s["reason"] for s in scenarios if s["status"] != "ok"}
    assert failed == {}
    assert all(s["happened"] and s["where"] for s in scenarios)
    truth = (tmp_path / "home" / "demo" / "ground_truth.csv").read_text().splitlines()
    assert truth[0].startswith("person_id") and len(truth) > 60

    again = subprocess.run(
        [CRMOS, "demo", "--no-serve", *SMALL_WORLD], env=env, capture_output=True, timeout=280
    )
    output = again.stdout.decode()
    assert again.returncode == 0, output + again.stderr.decode()
    assert "0 events stored" in output and "0 runs started" in output


def test_demo_server_shows_its_outbox_and_stops_its_counterparts_on_exit(tmp_path: Path) -> None:
    env, port = _env(tmp_path), free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CRMOS, "demo", "--port", str(port), *SMALL_WORLD], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"crmos demo exited: {log.read_text()}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(serving, timeout=280, what="crmos demo serving")
        home = tmp_path / "home"
        key = json.loads((home / "demo-keys.json").read_text())["admin_key"]
        auth = {"Authorization": f"Bearer {key}"}
        outbox = httpx.get(f"{url}/api/v1/demo/outbox", headers=auth, timeout=30).json()
        subjects = {m["subject"] for m in outbox["data"]}
        assert "Your policy renewal" in subjects, subjects
        assert any("return on investment" in s for s in subjects), subjects
        judged = httpx.get(f"{url}/api/v1/demo/scenarios", headers=auth, timeout=60).json()
        assert judged["ok"] == 12, judged
        stage = json.loads((home / "demo" / "stage.json").read_text())
        smtp_port = int(stage["smtp"].rsplit(":", 1)[1])
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", smtp_port), timeout=2):
        pass
