"""The HTTP side of the simulators: a small threaded stdlib server around :class:`SimApp`."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crmos.connectors.sim.app import Domain, Faults, Reply, SimApp
from crmos.connectors.sim.erp import ERP
from crmos.connectors.sim.mes import MES
from crmos.connectors.sim.scm import SCM
from crmos.connectors.sim.servicedesk import SERVICEDESK
from crmos.connectors.sim.state import SimState

DOMAINS: dict[str, Domain] = {d.kind: d for d in (ERP, MES, SCM, SERVICEDESK)}
#: Exit status of a simulator that crashed on purpose (``--crash-after``).
CRASH_EXIT = 70


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a keep-alive connection must not keep the process alive
    app: SimApp
    on_crash: Callable[[], None]
    dead: bool = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that died mid-connection (a killed crmos process) is routine for a
        simulator; anything else is printed as the standard library does."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as connector clients pool connections
    server: _Server
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a simulator under a benchmark answers thousands of requests."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.server.dead:
            self.close_connection = True  # a crashed simulator answers nothing
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.server.app.handle(self.command, self.path, headers, raw)
        except Exception:
            if not self.server.dead:
                raise
            self.close_connection = True  # stopped while this request was in flight
            return
        if reply.crash:
            self.close_connection = True
            self.server.dead = True
            self.server.on_crash()
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in {"Content-Type": "application/json", **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Simulator:
    """One reference system (``erp``, ``mes``, ``scm`` or ``servicedesk``) served over HTTP.

    ``state`` is a SQLite file that survives restarts (and crashes); without it the state is
    in memory. In a CLI process a crash exits with status 70; in-process (``exit_on_crash=False``)
    the simulator just stops answering, as if its process had died.
    """

    def __init__(
        self,
        kind: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        state: Path | None = None,
        token: str | None = None,
        exit_on_crash: bool = False,
    ) -> None:
        if kind not in DOMAINS:
            raise ValueError(f"unknown simulator '{kind}'; choose one of {', '.join(DOMAINS)}")
        domain = DOMAINS[kind]
        self.kind = kind
        self.app = SimApp(
            domain, SimState(state, domain.schema, domain.seed), faults or Faults(), token
        )
        self.server = _Server((host, port), _Handler)
        self.server.app = self.app
        self.server.on_crash = self._exit if exit_on_crash else self._stop_soon
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8101``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or a crash)."""
        self.server.serve_forever(poll_interval=0.02)

    def start(self) -> Simulator:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"crmos-sim-{self.kind}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the state (idempotent)."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.dead = True
        self.server.server_close()
        self.app.state.close()

    def stats(self) -> dict[str, Any]:
        """What ``GET /_sim/stats`` answers."""
        return {"kind": self.kind, **self.app.state.stats()}

    def _stop_soon(self) -> None:
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    @staticmethod
    def _exit() -> None:
        os._exit(CRASH_EXIT)  # a crash on purpose: no cleanup, like kill -9


def start_simulator(
    kind: str,
    *,
    state: Path | None = None,
    token: str | None = None,
    **faults: Any,
) -> tuple[str, Callable[[], None]]:
    """Start a simulator in this process on a free loopback port: ``(url, stop)``.

    ``faults`` are :class:`Faults` fields (``error_rate``, ``permanent_share``, ``latency_ms``,
    ``crash_after``, ``seed``, ``permanent_on_compensation``). For tests of your own plugins::

        url, stop = start_simulator("erp", error_rate=0.1, seed=1)
        try: ...
        finally: stop()
    """
    simulator = Simulator(kind, faults=Faults(**faults), state=state, token=token).start()
    return simulator.url, simulator.stop


def start_simulators(
    kinds: tuple[str, ...] = ("erp", "mes", "scm"), **faults: Any
) -> tuple[dict[str, str], Callable[[], None]]:
    """Start several simulators with the same faults: ``({kind: url}, stop_all)``.

    The URLs are what ``connectors.base_urls`` takes, so a test or a benchmark writes
    ``Settings(connectors={"base_urls": urls})``.
    """
    started = {kind: start_simulator(kind, **faults) for kind in kinds}

    def stop_all() -> None:
        for _, stop in started.values():
            stop()

    return {kind: url for kind, (url, _) in started.items()}, stop_all
