"""Runs received data-subject requests in the background of a serving process."""

from __future__ import annotations

import threading

from crmos.compliance.dsr import DsrService
from crmos.core.logsafe import get_logger

log = get_logger(__name__)  # exception messages withheld (core.logsafe)


class DsrWorker:
    """A thread that runs received requests when woken, and polls as a fallback."""

    def __init__(self, dsr: DsrService, idle_poll_s: float = 0.5) -> None:
        self._dsr = dsr
        self._idle = idle_poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        """A request was received: run it now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="crmos-dsr", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop after the current request."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                done = self._dsr.run_pending()
            except Exception:
                log.exception("data-subject request failed; retrying after %.1fs", self._idle)
                done = []
            if not done:
                self._wake.wait(self._idle)
