"""The durability campaign's moving parts: a ``crmos serve`` process that is killed, and the
load beside it (Segment SDK batches, erasures, saga runs against the simulators, CLI commands).

Every client remembers exactly what the server acknowledged, so the checks after a restart
compare the store with what was promised, not with what was sent.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from segment.analytics.request import post as segment_post

from crmos.bench.ingest import _free_port, _wait_healthy
from crmos.bench.sagas import agreement

CRMOS = [sys.executable, "-c", "from crmos.cli import main; main()"]
BATCH = 10


@dataclass(slots=True)
class Server:
    """One ``crmos serve`` process at a time, on one port, killed with SIGKILL on demand."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    name: str = "serve"

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start it and wait until ``/healthz`` answers; seconds it took."""
        began = time.monotonic()
        self.spawn()
        self.ready()
        return time.monotonic() - began

    def spawn(self) -> None:
        """Start the process (:meth:`ready` waits until it answers)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CRMOS, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def ready(self, deadline_s: float = 120.0) -> None:
        """Poll ``/healthz`` until it answers."""
        assert self.process is not None
        _wait_healthy(self.process, self.port, time.monotonic() + deadline_s, self.log)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no checkpoint."""
        kill(self.process)

    def stop(self) -> None:
        """SIGTERM and wait (the end of the campaign)."""
        stop(self.process)


def kill(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL one process of the campaign and reap it."""
    assert process is not None
    process.kill()
    process.wait(timeout=30)


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM one process and wait for it (SIGKILL after 30 s)."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(slots=True)
class Ledger:
    """What the server acknowledged, shared by the client threads (guarded by ``lock``)."""

    acked: dict[str, str] = field(default_factory=dict)  # messageId -> userId
    identified: dict[str, str] = field(default_factory=dict)  # userId -> identify messageId
    unanswered: list[list[dict[str, Any]]] = field(default_factory=list)  # batches to resend
    to_erase: list[str] = field(default_factory=list)  # erase-users sent, erasure not answered
    erased: dict[str, str] = field(default_factory=dict)  # userId -> erasure status answered
    runs: list[str] = field(default_factory=list)
    cli_commands: int = 0
    cli_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep_users(self) -> set[str]:
        """People who were sent and never asked to be erased."""
        with self.lock:
            return {u for u in self.acked.values() if not u.startswith("erase-")}


def identify(user: str, now: str) -> dict[str, Any]:
    """A Segment identify call with a messageId of its own."""
    traits = {"email": f"{user}@durability.example", "name": f"Person {user}"}
    return {"type": "identify", "userId": user, "traits": traits, "messageId": f"{user}:id",
            "timestamp": now}  # fmt: skip


def track(user: str, n: int, now: str) -> dict[str, Any]:
    """A Segment track call."""
    return {"type": "track", "userId": user, "event": "Page Compared", "timestamp": now,
            "properties": {"n": n}, "messageId": f"{user}:tr:{n}"}  # fmt: skip


@dataclass(slots=True)
class Load:
    """The client threads of one cycle; they stop when told, or when the server is gone."""

    server: Server
    ledger: Ledger
    write_key: str
    admin_key: str
    rng: random.Random
    counter: dict[str, int]
    stopping: threading.Event = field(default_factory=threading.Event)
    hush: threading.Event = field(default_factory=threading.Event)  # intake pauses while set
    threads: list[threading.Thread] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    cli_limit: int | None = None  # CLI commands this cycle (None: one after another until stopped)

    def start(self) -> None:
        """Two intake threads, one erasure thread, one run thread, one CLI thread."""
        targets: list[tuple[str, Callable[[], None]]] = [
            ("intake-1", self._intake),
            ("intake-2", self._intake),
            ("erasures", self._erasures),
            ("runs", self._runs),
            ("cli", self._cli),
        ]
        for name, target in targets:
            thread = threading.Thread(target=self._guard(name, target), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def halt(self) -> None:
        """Ask every thread to end; wait for all but the CLI thread, whose command (against the
        store, not the server) may finish beside the restart."""
        self.stopping.set()
        for thread in self.threads:
            if thread.name != "cli":
                thread.join(timeout=120)

    def stop(self) -> None:
        """Ask every thread to end and wait for it."""
        self.halt()
        for thread in self.threads:
            thread.join(timeout=120)

    def _guard(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stopping.is_set():
                target()

        return run

    def _next(self, what: str) -> int:
        with self.ledger.lock:
            self.counter[what] = self.counter.get(what, 0) + 1
            return self.counter[what]

    def _mark(self, what: str, delta: int) -> None:
        with self.ledger.lock:
            self.in_flight[what] = self.in_flight.get(what, 0) + delta

    def send(self, batch: list[dict[str, Any]]) -> bool:
        """Post one batch with the Segment SDK's transport; remember it if it was answered 2xx."""
        self._mark("intake", 1)
        try:
            segment_post(self.write_key, self.server.url, timeout=10, batch=batch)
        except Exception:  # refused, reset or 5xx while the server dies: resent after restart
            with self.ledger.lock:
                self.ledger.unanswered.append(batch)
            return False
        finally:
            self._mark("intake", -1)
        with self.ledger.lock:
            for message in batch:
                self.ledger.acked[message["messageId"]] = message["userId"]
                if message["type"] == "identify":
                    self.ledger.identified[message["userId"]] = message["messageId"]
        return True

    def _intake(self) -> None:
        if self.hush.is_set():
            self.stopping.wait(0.01)  # an erasure wants the log's newest events to be its own
            return
        now = datetime.now(UTC).isoformat()
        known = sorted(self.ledger.keep_users())
        batch = []
        for _ in range(BATCH):
            if not known or self.rng.random() < 0.3:
                user = f"keep-{self._next('people')}"
                known.append(user)
                batch.append(identify(user, now))
            else:
                batch.append(track(self.rng.choice(known), self._next("tracks"), now))
        if not self.send(batch):
            self.stopping.wait(0.2)  # the server is down: back off as the SDK would

    def _erasures(self) -> None:
        """A new person is sent, then erased at once. Every other time the intake pauses, so the
        person's events are the newest in the log when the erasure deletes them, and the next
        person sent comes right after (a log that reuses sequence numbers skips that one)."""
        number = self._next("erase")
        user = f"erase-{number}"
        quiet = number % 2 == 1
        if quiet:
            self.hush.set()
            self._drain_intake()
        try:
            if self.send([identify(user, datetime.now(UTC).isoformat())]):
                with self.ledger.lock:
                    self.ledger.to_erase.append(user)
            self.erase_pending()
            if quiet:
                after = f"keep-{self._next('people')}"
                self.send([identify(after, datetime.now(UTC).isoformat())])
        finally:
            self.hush.clear()

    def _drain_intake(self, deadline_s: float = 10.0) -> None:
        deadline = time.monotonic() + deadline_s
        while self.in_flight.get("intake", 0) > 0 and time.monotonic() < deadline:
            self.stopping.wait(0.01)  # the intake threads finish the batch they are posting

    def erase_pending(self) -> None:
        """Ask for the erasure of every erase-user whose erasure was not answered yet."""
        with self.ledger.lock:
            pending = list(self.ledger.to_erase)
        for user in pending:
            body = {"kind": "erasure", "identifier": {"type": "user_id", "value": user}}
            answer = self._admin("POST", "/api/v1/dsr", "erasures", body)
            if answer is None:
                return
            with self.ledger.lock:
                self.ledger.to_erase.remove(user)
                # A request's status, or a problem's code (not_found: the person was not stored)
                self.ledger.erased[user] = str(answer.get("code") or answer.get("status"))

    def _runs(self) -> None:
        answer = self._admin("POST", "/api/v1/runs", "run requests", agreement(self._next("runs")))
        if answer is not None and "id" in answer:
            with self.ledger.lock:
                self.ledger.runs.append(str(answer["id"]))
        self.stopping.wait(0.3 if answer is not None else 0.5)

    def _admin(self, method: str, path: str, what: str, body: Any) -> dict[str, Any] | None:
        self._mark(what, 1)
        try:
            response = httpx.request(
                method,
                self.server.url + path,
                json=body,
                headers={"Authorization": f"Bearer {self.admin_key}"},
                timeout=60,
            )
        except httpx.HTTPError:
            return None
        finally:
            self._mark(what, -1)
        if response.status_code >= 500:
            return None
        data: dict[str, Any] = response.json()
        return data

    def _cli(self) -> None:
        """`crmos workspace list` and `crmos events tail` beside the server, as a user would."""
        if self.cli_limit is not None:
            if self.cli_limit <= 0:
                self.stopping.wait()  # this cycle's commands ran
                return
            self.cli_limit -= 1
        commands = (["workspace", "list"], ["events", "tail", "-n", "3"])
        args = commands[self._next("cli") % 2]
        done = subprocess.run([*CRMOS, *args], env=self.server.env, capture_output=True)
        with self.ledger.lock:
            self.ledger.cli_commands += 1
            self.ledger.cli_failures += int(done.returncode != 0)


def resend(load: Load, deadline_s: float = 120.0) -> None:
    """After a restart, resend every unanswered batch (same messageIds) until it is answered."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with load.ledger.lock:
            batches, load.ledger.unanswered = load.ledger.unanswered, []
        if not batches:
            return
        for batch in batches:
            load.send(batch)


def server_env(home: Path, url: str, sims: dict[str, str]) -> dict[str, str]:
    """The environment of every crmos process of the campaign (server and CLI)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(
        CRMOS__HOME=str(home),
        CRMOS__STORE__URL=url,
        CRMOS_CONFIG=str(home / "absent.toml"),
        CRMOS__CONNECTORS__BASE_URLS=json.dumps(sims),
        CRMOS__SAGAS__BACKOFF_S="0.05",
        CRMOS__SAGAS__MAX_BACKOFF_S="0.5",
        CRMOS__SAGAS__POLL_INTERVAL_S="0.1",
    )
    return env
