"""A downstream system that speaks the erasure webhook, on loopback: for tests, demos, benches.

It holds records per identifier value; ``POST /erase`` removes those of the identifiers sent and
answers ``{"erased": n, "confirmation": "..."}`` (404 when it held nothing). The same
``Idempotency-Key`` gets the same answer. ``failing=True`` makes it answer 503.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crmos.core.ids import new_id


class ErasureCounterpart:
    """A real HTTP server on 127.0.0.1 holding personal records, erasable by webhook."""

    def __init__(self, name: str, failing: bool = False) -> None:
        self.name = name
        self.failing = failing
        self.records: dict[str, int] = {}
        self.received: list[dict[str, Any]] = []
        self._answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The erasure endpoint."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/erase"

    def hold(self, value: str, count: int = 1) -> None:
        """Pretend the system holds ``count`` records about identifier ``value``."""
        with self._lock:
            self.records[value] = self.records.get(value, 0) + count

    def __enter__(self) -> ErasureCounterpart:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
        """The reply to one erasure request (idempotent per key)."""
        with self._lock:
            if key in self._answers:
                return self._answers[key]
            self.received.append(body)
            if self.failing:
                return 503, {"error": "unavailable"}
            values = [str(i.get("value")) for i in body.get("identifiers", [])]
            erased = sum(self.records.pop(v, 0) for v in values)
            reply = (200, {"erased": erased, "confirmation": f"{self.name}-{new_id()}"})
            if not erased:
                reply = (404, {"erased": 0})
            self._answers[key] = reply
            return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("idempotency-key") or new_id()
                status, reply = owner.answer(body, key)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet: tests and benches read the records instead

        return Handler
