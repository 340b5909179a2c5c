"""The processes the durability campaign kills: one ``crmos serve`` (single), or a ``crmos serve``
that runs no saga step beside ``crmos worker`` processes that execute the runs (scale-out).

Scale-out is ``sagas.embedded = false`` on the server and one or more ``crmos worker --executor-id
worker-N``: runs wait on one DBOS queue, each worker takes some, and after a SIGKILL the worker
started again under the same executor id resumes the runs it held (DBOS recovers a workflow for
its own executor only). On SQLite the workers are processes on the same host, beside the server,
on the same database file and ``dbos.sqlite``: SQLite's locks serialise their writers, which is
how the product runs a worker there (``crmos worker`` accepts any store).
"""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from crmos.bench.durability_load import CRMOS, Server, kill, stop
from crmos.core.errors import CrmosError

TOPOLOGIES = ("single", "scale-out")
READY = b"executing runs"  # the line ``crmos worker`` prints once its engine runs


class Process(Protocol):
    """A process of the campaign: started, awaited, killed, stopped."""

    @property
    def name(self) -> str:
        """``serve`` or the worker's executor id."""
        ...

    def spawn(self) -> None:
        """Start it without waiting."""
        ...

    def ready(self, deadline_s: float = 120.0) -> None:
        """Wait until it serves (its engine runs)."""
        ...

    def kill(self) -> None:
        """SIGKILL it."""
        ...

    def stop(self) -> None:
        """SIGTERM it and wait."""
        ...


@dataclass(slots=True)
class Worker:
    """One ``crmos worker`` under a stable executor id, killed with SIGKILL on demand."""

    env: dict[str, str]
    log: Path
    executor_id: str
    process: subprocess.Popen[bytes] | None = None
    _seen: int = field(default=0, repr=False)

    @property
    def name(self) -> str:
        """Its executor id."""
        return self.executor_id

    def spawn(self) -> None:
        """Start ``crmos worker`` (output unbuffered, so its ready line reaches the log)."""
        self._seen = self._ready_lines()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CRMOS, "worker", "--executor-id", self.executor_id],
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def ready(self, deadline_s: float = 120.0) -> None:
        """Poll its log until this start printed its ready line (its interrupted runs resume)."""
        assert self.process is not None
        deadline = time.monotonic() + deadline_s
        while self._ready_lines() <= self._seen:
            if self.process.poll() is not None:
                raise CrmosError(f"crmos worker exited ({self.process.returncode}): {self._tail()}")
            if time.monotonic() > deadline:
                raise CrmosError(f"crmos worker {self.executor_id} not ready: {self._tail()}")
            time.sleep(0.05)  # polling a log file the worker writes

    def kill(self) -> None:
        """SIGKILL: the runs it held stop mid-step."""
        kill(self.process)

    def stop(self) -> None:
        """SIGTERM and wait (the end of the campaign)."""
        stop(self.process)

    def _ready_lines(self) -> int:
        return self.log.read_bytes().count(READY) if self.log.exists() else 0

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@dataclass(slots=True)
class Topology:
    """The processes of one campaign and which of them a kill hits."""

    name: str
    server: Server
    workers: list[Worker]

    @classmethod
    def build(cls, name: str, env: dict[str, str], home: Path, workers: int) -> Topology:
        """``single``: the server runs the runs; ``scale-out``: ``workers`` workers do."""
        if name == "single":
            return cls(name, Server(env, home / "server.log"), [])
        if name != "scale-out":
            raise CrmosError(f"unknown topology {name!r}; use one of {', '.join(TOPOLOGIES)}")
        server = Server({**env, "CRMOS__SAGAS__EMBEDDED": "false"}, home / "server.log")
        crew = [Worker(env, home / f"worker-{i}.log", f"worker-{i}") for i in range(1, workers + 1)]
        return cls(name, server, crew)

    @property
    def processes(self) -> list[Process]:
        """Every process: the server first."""
        return [self.server, *self.workers]

    def start(self) -> float:
        """Start every process; seconds until all of them serve."""
        return self.restart(self.processes)

    def restart(self, victims: list[Process]) -> float:
        """Start ``victims`` again side by side; seconds until all of them serve."""
        began = time.monotonic()
        for process in victims:
            process.spawn()
        for process in victims:
            process.ready()
        return time.monotonic() - began

    def pick(self, rng: random.Random) -> list[Process]:
        """Whom the next SIGKILL hits: the server alone (single); in scale-out a worker (most
        often: it holds the runs), the server, or every process at once."""
        if not self.workers:
            return [self.server]
        draw = rng.random()
        if draw < 0.45:
            return [rng.choice(self.workers)]
        if draw < 0.75:
            return [self.server]
        return self.processes

    def stop(self) -> None:
        """Stop every process."""
        for process in self.processes:
            process.stop()
