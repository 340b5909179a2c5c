"""The one way tests wait: poll a condition until it holds or a deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL_INTERVAL_S = 0.02


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(POLL_INTERVAL_S)  # the interval between polls, never a wait for an outcome
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
