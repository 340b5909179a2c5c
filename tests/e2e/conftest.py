"""A live crmos server process on a free loopback port, as a user would run it."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from crmos.cli import app
from crmos.cli.common import console, err_console
from tests.polling import wait_until

__all__ = ["wait_until"]  # re-exported: e2e tests import it from here

CRMOS = str(Path(sys.executable).with_name("crmos"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A `crmos serve` process and the environment it runs with."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run a crmos command against the same store; returns its stdout."""
        done = subprocess.run(
            [CRMOS, *args], env=self.env, capture_output=True, check=True, timeout=120
        )
        return done.stdout.decode()

    @property
    def log(self) -> Path:
        return Path(self.env["CRMOS__HOME"]).parent / f"server-{self.port}.log"

    def start(self, timeout: float = 180.0) -> None:
        """Start `crmos serve` and wait until it answers /healthz. The deadline bounds a hang,
        not the start-up time: with the suite's workers and other jobs sharing two cores, a
        start takes well over 30 s at times."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [CRMOS, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._healthy, timeout, what=f"crmos serve on port {self.port}")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited: {self.log.read_text()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder with a demo world (`crmos demo --no-serve`, 30 people): ``crmos.db``, an SQLite
    store, and ``home``. Seeded once per run, by the first xdist worker that needs it while the
    others wait on a lock, and copied, never used in place: the console tests serve copies
    (tests/e2e/console_support.py)."""
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "seeded-demo"
    with (root.parent / "seeded-demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (root / "seeded").exists():
            shutil.rmtree(root, ignore_errors=True)  # a seeding that failed half-way
            env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
            env.update(
                CRMOS__HOME=str(root / "home"), CRMOS__STORE__URL=f"sqlite:///{root}/crmos.db"
            )
            Server(env).cli("demo", "--no-serve", "--people", "30")
            (root / "seeded").touch()
    return root


@pytest.fixture
def server_env(store_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS__HOME=str(tmp_path / "home"), CRMOS__STORE__URL=store_url)
    return env


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    srv = Server(server_env)
    yield srv
    srv.stop()


@pytest.fixture
def keys(server: Server) -> dict[str, str]:
    """A workspace created with the CLI, as the README says."""
    return dict(json.loads(server.cli("workspace", "create", "acme", "--json")))


@pytest.fixture
def cli(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `crmos` command line in process, on a fresh home and store, ignoring crmos.toml."""
    monkeypatch.setenv("CRMOS__HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRMOS__STORE__URL", store_url)
    monkeypatch.setenv("CRMOS_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    # Rich fixes a console's width when it is made if COLUMNS is set then, and in a pytest-xdist
    # worker GNU readline has exported COLUMNS=80 before crmos.cli is imported: let the CLI's
    # consoles follow COLUMNS again for this test, as they do in a plain run.
    for shared in (console, err_console):
        monkeypatch.setattr(shared, "_width", None)
    return CliRunner()


def run_cli(cli: CliRunner, *args: str, code: int = 0) -> str:
    """Run one command; assert its exit code; return what it printed."""
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output
