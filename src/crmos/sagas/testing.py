"""Test helpers for sagas and action plugins: a real HTTP counterpart and an action calling it.

:class:`EffectServer` is a small HTTP service on loopback that applies "effects" idempotently
by ``Idempotency-Key``, undoes them, counts everything (so a test can assert that each side
effect happened exactly once and was undone when it should be), and injects failures: transient
(503 before applying), "lost answers" (applied, then 503), permanent refusals (422) and latency.

:class:`HttpEffect` (action ``testing.http_effect``) calls it. Register it in a worker process
with ``CRMOS__SAGAS__PLUGINS='["crmos.sagas.testing:actions"]'``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field

from crmos.core.errors import PermanentError, TransientError
from crmos.sagas.ports import StepContext


@dataclass(slots=True)
class Faults:
    """Failure injection of an :class:`EffectServer`.

    Rates are per call (0..1) and drawn from a seeded generator. ``script`` scripts the calls
    of one effect (``"undo:NAME"`` for its undo) in order: ``"transient"`` (503, nothing
    applied), ``"lost"`` (applied, then 503), ``"permanent"`` (422), ``"slow"`` (applied,
    answered after ``slow_s``) or ``"ok"``; once a script is used up, calls behave normally.
    """

    transient_rate: float = 0.0
    lost_answer_rate: float = 0.0
    permanent_rate: float = 0.0
    latency_s: float = 0.0
    slow_s: float = 1.0
    refuse: set[str] = field(default_factory=set)
    script: dict[str, list[str]] = field(default_factory=dict)
    seed: int = 7


@dataclass(slots=True)
class Effect:
    """What the server knows of one idempotency key."""

    name: str
    applied: int = 0
    undone: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    traceparent: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections, which
    # then wait a second for the retransmit: many workers connect at once here.
    request_queue_size = 128


class EffectServer:
    """An idempotent HTTP counterpart on ``127.0.0.1`` (use as a context manager)."""

    def __init__(self, faults: Faults | None = None, port: int = 0) -> None:
        self.faults = faults or Faults()
        self.effects: dict[str, Effect] = {}
        self.calls = 0
        self._lock = threading.Lock()
        self._random = random.Random(self.faults.seed)
        self._server = _Server(("127.0.0.1", port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> EffectServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def apply(
        self, name: str, key: str, body: dict[str, Any], traceparent: str | None
    ) -> tuple[int, dict[str, Any], float]:
        """Apply effect ``name`` once per ``key``: the HTTP status, answer and answer delay."""
        with self._lock:
            self.calls += 1
            fate = self._fate(name)
            # Injected faults strike before the idempotency check, as at a gateway: even a
            # replay of an applied request can be refused once.
            if name in self.faults.refuse or fate == "permanent":
                return 422, {"error": f"{name} refused"}, self.faults.latency_s
            if fate == "transient":
                return 503, {"error": "try again"}, self.faults.latency_s
            known = self.effects.get(key)
            if known is not None and known.applied:
                return 200, known.answer, self.faults.latency_s
            effect = self.effects.setdefault(key, Effect(name))
            effect.applied += 1
            effect.answer = {"effect_id": key, "name": name, "amount": body.get("amount", 1)}
            effect.traceparent = traceparent
            delay = self.faults.slow_s if fate == "slow" else self.faults.latency_s
            if fate == "lost":
                return 503, {"error": "answer lost"}, delay
            return 200, effect.answer, delay

    def undo(self, key: str) -> tuple[int, dict[str, Any], float]:
        """Undo the effect applied under ``key`` (idempotent; unknown keys are a no-op)."""
        with self._lock:
            self.calls += 1
            effect = self.effects.get(key)
            if effect is None or not effect.applied:
                return 200, {"undone": False}, self.faults.latency_s
            fate = self._fate(f"undo:{effect.name}")
            if fate in ("transient", "lost"):
                return 503, {"error": "try again"}, self.faults.latency_s
            if fate == "permanent":
                return 422, {"error": "cannot undo"}, self.faults.latency_s
            effect.undone = 1
            return 200, {"undone": True}, self.faults.latency_s

    def _fate(self, name: str) -> str:
        """What this call of ``name`` suffers: the next scripted fate, else a random one."""
        scripted = self.faults.script.get(name)
        if scripted:
            return scripted.pop(0)
        roll = self._random.random()
        for fate, rate in (
            ("permanent", self.faults.permanent_rate),
            ("transient", self.faults.transient_rate),
            ("lost", self.faults.lost_answer_rate),
        ):
            if roll < rate:
                return fate
            roll -= rate
        return "ok"

    def state(self) -> dict[str, Any]:
        """Every key with how often it was applied and undone."""
        with self._lock:
            return {
                key: {"name": e.name, "applied": e.applied, "undone": e.undone}
                for key, e in self.effects.items()
            }

    def duplicates(self) -> int:
        """Effects applied more than once under the same key (must be 0)."""
        return sum(max(0, e.applied - 1) for e in self.effects.values())

    def live(self, prefix: str = "") -> list[str]:
        """Keys (starting with ``prefix``) whose effect is applied and not undone."""
        return [
            k
            for k, e in self.effects.items()
            if k.startswith(prefix) and e.applied and not e.undone
        ]


def _handler(server: EffectServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("idempotency-key") or ""
            parts = self.path.strip("/").split("/")
            if not key or len(parts) < 2 or parts[0] != "effects":
                self._answer(400, {"error": "POST /effects/NAME[/undo] with an Idempotency-Key"})
                return
            if len(parts) == 3 and parts[2] == "undo":
                status, answer, delay = server.undo(key)
            else:
                status, answer, delay = server.apply(
                    parts[1], key, body, self.headers.get("traceparent")
                )
            if delay:
                time.sleep(delay)  # injected latency: the effect is applied, the answer is late
            self._answer(status, answer)

        def do_GET(self) -> None:
            self._answer(200, server.state())

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the caller died (a killed worker): no answer

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output clean

    return Handler


class EffectParams(BaseModel):
    """Params of ``testing.http_effect``."""

    url: str = Field(description="Base URL of the EffectServer.")
    effect: str = Field(pattern=r"^[a-z0-9_]+$", description="Name of the effect to apply.")
    amount: int = Field(default=1, ge=0)


class HttpEffect:
    """Applies an effect at an :class:`EffectServer`; compensation undoes it."""

    name: ClassVar[str] = "testing.http_effect"
    params: ClassVar[type[BaseModel]] = EffectParams

    def __init__(self) -> None:
        self._http = httpx.Client(timeout=10)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """POST the effect with the step's idempotency key and trace context."""
        assert isinstance(params, EffectParams)
        body = {"amount": params.amount}
        return _post(self._http, f"{params.url}/effects/{params.effect}", ctx, body)

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """POST the undo under the same key."""
        assert isinstance(params, EffectParams)
        _post(self._http, f"{params.url}/effects/{params.effect}/undo", ctx, {})


def _post(http: httpx.Client, url: str, ctx: StepContext, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Idempotency-Key": ctx.idempotency_key}
    if ctx.traceparent:
        headers["traceparent"] = ctx.traceparent
    try:
        response = http.post(url, json=body, headers=headers)
    except httpx.TransportError as exc:
        raise TransientError(url, f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(url, f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(url, f"HTTP {response.status_code}: {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def actions() -> list[HttpEffect]:
    """The provider named by ``crmos.sagas.testing:actions``."""
    return [HttpEffect()]
