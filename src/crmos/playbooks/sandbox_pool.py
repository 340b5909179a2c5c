"""Pre-started child processes that run component calls (the parent side of the sandbox).

Each component gets its own children (a child never runs two components, so one cannot leave
a trap for another), started with an empty environment, no inherited file descriptors and a
scratch directory as its working directory, and limited from outside with ``prlimit``: an
address-space cap at start, and before each call a CPU-time cap of the call's allowance on
top of what the child has used. The parent waits for each answer with the call's deadline; a
child that overruns it, dies (CPU limit: SIGXCPU) or breaks a rule is killed and replaced in
the background, so the next call finds a warm child. Messages are JSON frames, never pickle.
"""

from __future__ import annotations

import math
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from crmos.core.logsafe import get_logger
from crmos.playbooks.sandbox_policy import ChildDied, Limits, Policy, frame, unframe_length
from crmos.playbooks.sandbox_zygote import Forked, Zygote, ZygoteFailed

log = get_logger(__name__)
START_S = 30.0  # a child's interpreter start and the component's import
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
Handler = Callable[[dict[str, Any]], dict[str, Any]]  # a child's request -> the answer


@dataclass(frozen=True, slots=True)
class Spec:
    """What a child is started for: one component, its limits and its network endpoints."""

    name: str
    ref: str  # module:qualname
    limits: Limits
    endpoints: tuple[str, ...]
    deny_roots: tuple[str, ...] = ()
    # Folders searched first for the component's code (a wheel staged for vetting before it is
    # installed); the child adds them to its path under the guard, and may read them.
    path: tuple[str, ...] = ()


@dataclass(slots=True)
class Child:
    """One started child process and its pipes."""

    spec: Spec
    process: Forked
    scratch: str
    calls: int = 0
    buffer: bytearray = field(default_factory=bytearray)
    manifest: dict[str, Any] = field(default_factory=dict)

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one frame to the child."""
        self.process.stdin.write(frame(message))
        self.process.stdin.flush()

    def receive(self, deadline: float) -> dict[str, Any]:
        """The child's next frame, or :class:`ChildDied` at ``deadline``."""
        header = self._exactly(4, deadline)
        message: dict[str, Any] = orjson.loads(self._exactly(unframe_length(header), deadline))
        return message

    def _exactly(self, n: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()
        while len(self.buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChildDied(
                    "time", f"ran past its time limit of {self.spec.limits.timeout_s:g} s"
                )
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self.death()
            self.buffer += chunk
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def death(self) -> ChildDied:
        """Why the child is gone, from its exit status."""
        code = self.process.wait()
        if code == -signal.SIGXCPU:
            return ChildDied("cpu", f"used more than its {self.spec.limits.cpu_s:g} s of CPU")
        if code == -signal.SIGKILL:
            return ChildDied("memory", "was killed (out of memory)")
        return ChildDied("crash", f"crashed (its process ended with status {code})")

    def cpu_used_s(self) -> float:
        """CPU seconds the child has used so far, read by the parent from ``/proc``."""
        with open(f"/proc/{self.process.pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def allow_cpu(self, seconds: float) -> None:
        """Cap the child's CPU time at what it used plus ``seconds`` (SIGXCPU past it)."""
        soft = math.ceil(self.cpu_used_s() + seconds)
        resource.prlimit(self.process.pid, resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))

    def wipe_scratch(self) -> None:
        """Empty the scratch directory between calls."""
        for entry in os.scandir(self.scratch):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)

    def kill(self) -> None:
        """Stop the child for good and remove its scratch directory."""
        self.process.kill()
        self.process.wait()
        self.process.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def read_roots() -> tuple[str, ...]:
    """Where code and library data live: what a child may read."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr", "/etc/ssl", "/dev/null"}
    roots.update(p for p in search_path() if os.path.isdir(p))
    return tuple(sorted(roots))


def search_path() -> list[str]:
    """The parent's ``sys.path`` made absolute (the child starts in its scratch directory)."""
    return [os.path.abspath(p) for p in sys.path if p]


def start(spec: Spec, zygote: Zygote, describe: bool = False) -> Child:
    """Fork a child for ``spec`` from the zygote and wait until its component is imported
    (with ``describe``, the child's description of it is kept in ``manifest``)."""
    scratch = tempfile.mkdtemp(prefix="crmos-sandbox-")
    try:
        process = zygote.fork()
    except ZygoteFailed as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ChildDied("start", f"{spec.name}: {exc.detail}") from exc
    memory = spec.limits.memory_mb * 1024 * 1024
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 64 * 1024 * 1024),
        (resource.RLIMIT_NOFILE, 256),
    ):
        resource.prlimit(process.pid, limit, (value, value))
    child = Child(spec, process, scratch)
    policy = Policy(scratch, (*read_roots(), *spec.path), spec.deny_roots, spec.endpoints)
    init = {"ref": spec.ref, "policy": policy.as_dict(), "describe": describe, "path": spec.path}
    try:
        child.send(init)
        ready = child.receive(time.monotonic() + START_S)
    except (ChildDied, OSError) as exc:
        child.kill()
        raise ChildDied("start", f"{spec.name}: the sandbox did not start: {exc}") from exc
    if ready.get("op") != "ready" or ready.get("violations"):
        child.kill()
        why = ready.get("violations") or ready.get("error")
        raise ChildDied("start", f"{spec.name}: refused while loading: {why}")
    child.manifest = dict(ready.get("manifest") or {})
    return child


class Pool:
    """Warm children per component; :meth:`call` runs one call in one of them."""

    def __init__(self, per_component: int = 2) -> None:
        self.per_component = per_component
        self.zygote = Zygote(search_path())
        self._idle: dict[str, list[Child]] = {}
        self._starting: dict[str, int] = {}  # replacements under way, per component
        self._lock = threading.Condition()
        self._closed = False

    def prestart(self) -> None:
        """Start the zygote ahead of the first call (``crmos serve`` and workers do)."""
        self.zygote.start()

    def warm(self, specs: Iterable[Spec]) -> None:
        """Start one child for each spec that has none idle (before the first calls)."""
        for spec in specs:
            with self._lock:
                if self._idle.get(spec.name):
                    continue
            self._give_back(start(spec, self.zygote))

    def call(self, spec: Spec, message: dict[str, Any], handle: Handler) -> dict[str, Any]:
        """Send ``message`` to a child of ``spec``, answer its requests with ``handle`` until
        it sends its final answer, and return that. :class:`ChildDied` if the child broke a
        limit (it is replaced) and the final answer's ``violations`` if it broke a rule."""
        child = self._take(spec)
        deadline = time.monotonic() + spec.limits.timeout_s
        healthy = False
        try:
            child.allow_cpu(spec.limits.cpu_s)
            child.send(message)
            while True:
                answer = child.receive(deadline)
                if answer.get("op") in ("done", "failed"):
                    healthy = not answer.get("violations")
                    return answer
                child.send(handle(answer))
        except OSError as exc:  # a broken pipe: the child died while we wrote
            raise child.death() from exc
        finally:
            child.calls += 1
            if healthy:
                child.wipe_scratch()
                self._give_back(child)
            else:
                child.kill()
                self._replace(spec)

    def _take(self, spec: Spec) -> Child:
        with self._lock:
            # A replacement already starting is sooner than a second start beside it.
            self._lock.wait_for(
                lambda: self._idle.get(spec.name) or not self._starting.get(spec.name), START_S
            )
            idle = self._idle.get(spec.name)
            if idle:
                return idle.pop()
        return start(spec, self.zygote)

    def _give_back(self, child: Child) -> None:
        with self._lock:
            idle = self._idle.setdefault(child.spec.name, [])
            if self._closed or len(idle) >= self.per_component:
                keep = False
            else:
                idle.append(child)
                keep = True
                self._lock.notify_all()
        if not keep:
            child.kill()

    def _replace(self, spec: Spec) -> None:
        """Start a fresh child in the background, so the next call finds one warm."""

        def run() -> None:
            try:
                self._give_back(start(spec, self.zygote))
            except ChildDied as exc:
                log.warning("sandbox child for %s could not be replaced: %s", spec.name, exc)
            finally:
                with self._lock:
                    self._starting[spec.name] -= 1
                    self._lock.notify_all()

        with self._lock:
            if self._closed:
                return
            self._starting[spec.name] = self._starting.get(spec.name, 0) + 1
        threading.Thread(target=run, name=f"crmos-sandbox-{spec.name}", daemon=True).start()

    def close(self) -> None:
        """Kill every idle child."""
        with self._lock:
            self._closed = True
            children = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for child in children:
            child.kill()
        self.zygote.close()
