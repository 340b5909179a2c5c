"""`crmos demo` serving in the background, as `make run` starts it, for the demo's e2e tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.e2e.conftest import CRMOS
from tests.polling import wait_until


def serve_demo(
    env: dict[str, str], port: int, log: Path, *args: str, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `crmos demo --port PORT ARGS` and wait until it serves (it acts the world out
    first: minutes on a loaded machine). Its output goes to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CRMOS, "demo", "--port", str(port), *args], env=env, cwd=cwd, stdout=out, stderr=out
        )

    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"crmos demo exited: {log.read_text()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(serving, timeout=600, what="crmos demo serving")
    except BaseException:
        process.kill()
        process.wait(timeout=60)
        raise
    return process
