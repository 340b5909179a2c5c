"""A background thread that calls one function every few seconds until closed."""

from __future__ import annotations

import threading
from collections.abc import Callable

from crmos.core.logsafe import get_logger

log = get_logger(__name__)  # exception messages withheld (core.logsafe)


class Periodic:
    """Call ``tick`` every ``every_s`` seconds in a daemon thread named ``name``.

    A failing tick is logged and retried at the next one; :meth:`close` stops the thread after
    the tick in progress. It may be started again after closing.
    """

    def __init__(self, name: str, every_s: float, tick: Callable[[], object]) -> None:
        self.name = name
        self.every_s = every_s
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once until closed)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the tick in progress (waiting at most ``timeout`` seconds for it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self._tick()
            except Exception:  # the next tick retries
                log.exception("%s failed; retrying in %.1fs", self.name, self.every_s)
