"""A zygote: one clean process that has imported the sandbox and crmos's components once, and
forks each sandbox child from itself, so a child is ready in milliseconds, not the second an
interpreter takes to start and import pydantic, httpx and crmos (the forkserver pattern).

The zygote is started with an empty environment and no inherited descriptors, and holds no
secret: forking it gives a child nothing the parent would not. The parent hands it the two
pipe ends of each new child over a Unix socket (``SCM_RIGHTS``); the zygote forks, the child
turns them into its stdin and stdout and serves calls (``sandbox_child.main``). Children are
the zygote's, so the parent asks it for their exit status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

import orjson

from crmos.playbooks.sandbox_policy import ChildDied

BOOT = (
    "import sys, json; sys.path[:0] = json.loads(sys.argv[1]); "
    "from crmos.playbooks.sandbox_zygote import serve; serve(int(sys.argv[2]))"
)
REAP_WAIT_S = 2.0


class ZygoteFailed(ChildDied):
    """The zygote process did not start or stopped answering (so no child could start)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__("start", f"the sandbox zygote failed: {reason}")


def serve(fd: int) -> None:
    """The zygote's loop: fork a child per request, report exit statuses, until EOF."""
    # Preloaded so each child has them already: the child module and crmos's own components.
    from crmos.playbooks import builtin, sandbox_child

    del builtin
    control = socket.socket(fileno=fd)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 4096, 2)
        except OSError:
            return
        if not data:
            return
        request = orjson.loads(data)
        if request["op"] == "fork":
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    control.close()
                    os.dup2(fds[0], 0)
                    os.dup2(fds[1], 1)
                    for f in fds:
                        os.close(f)
                    sandbox_child.main()
                    code = 0
                finally:
                    os._exit(code)
            for f in fds:
                os.close(f)
            control.sendall(orjson.dumps({"pid": pid}))
        elif request["op"] == "wait":
            control.sendall(orjson.dumps({"code": _reap(int(request["pid"]))}))


def _reap(pid: int) -> int | None:
    """The child's exit code (negative: killed by that signal), or None if it still runs."""
    deadline = time.monotonic() + REAP_WAIT_S
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return -signal.SIGKILL  # already reaped: only a kill ends a child that way
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)


@dataclass(slots=True)
class Forked:
    """A child the zygote forked: its pid and the parent's ends of its pipes."""

    pid: int
    stdin: IO[bytes]
    stdout: IO[bytes]
    zygote: Zygote

    code: int | None = None  # once reaped: its pid may belong to someone else after that

    def wait(self) -> int:
        """Its exit code (a child that lingers is killed first)."""
        if self.code is None:
            code = self.zygote.wait(self.pid)
            if code is None:
                self.kill()
                code = self.zygote.wait(self.pid)
            self.code = -signal.SIGKILL if code is None else code
        return self.code

    def kill(self) -> None:
        """SIGKILL it, unless it was reaped already (reaped by :meth:`wait`)."""
        if self.code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Close the parent's pipe ends."""
        for pipe in (self.stdin, self.stdout):
            pipe.close()


class Zygote:
    """The parent's handle on the zygote process (started on first use, again if it died)."""

    def __init__(self, search_path: list[str]) -> None:
        self.search_path = search_path
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def fork(self) -> Forked:
        """A new child, its stdin and stdout connected to new pipes."""
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        try:
            reply = self._ask({"op": "fork"}, [to_child, from_child])
        finally:
            os.close(to_child)
            os.close(from_child)
        stdin, stdout = os.fdopen(from_parent, "wb"), os.fdopen(to_parent, "rb", buffering=0)
        return Forked(int(reply["pid"]), stdin, stdout, self)

    def start(self) -> None:
        """Start the zygote now (it imports in its own process while the caller goes on)."""
        with self._lock:
            self._ensure()

    def wait(self, pid: int) -> int | None:
        """Exit code of child ``pid`` (None: it is still running)."""
        code: Any = self._ask({"op": "wait", "pid": pid}).get("code")
        return None if code is None else int(code)

    def _ask(self, request: dict[str, Any], fds: list[int] | None = None) -> dict[str, Any]:
        with self._lock:
            control = self._ensure()
            try:
                socket.send_fds(control, [orjson.dumps(request)], fds or [])
                data = control.recv(4096)
            except OSError as exc:
                self._stop()
                raise ZygoteFailed(str(exc)) from exc
            if not data:
                self._stop()
                raise ZygoteFailed("it closed its socket")
            answer: dict[str, Any] = orjson.loads(data)
            return answer

    def _ensure(self) -> socket.socket:
        if self._control is not None and self._process is not None:
            if self._process.poll() is None:
                return self._control
            self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path = orjson.dumps(self.search_path).decode()
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", BOOT, path, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=[theirs.fileno()],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},  # the parent's secrets stay with the parent
        )
        theirs.close()
        self._control = ours
        return ours

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=5)
            self._process = None

    def close(self) -> None:
        """Stop the zygote (its children die with their pipes)."""
        with self._lock:
            self._stop()
