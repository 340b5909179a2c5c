"""The demo's small HTTP counterparts: a server on a free loopback port, in a thread."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """Serves ``server`` from a background thread; ``url`` ends in the class's ``path``."""

    path = ""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Where it listens, e.g. ``http://127.0.0.1:41234`` plus ``path``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def start(self) -> Self:
        """Serve in a background thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
