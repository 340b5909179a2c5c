"""The one way tests wait: poll a condition until it holds or a deadline passes (tenacity)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

POLL_INTERVAL_S = 0.02


def wait_until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy (returned); fail after ``timeout``."""
    polls = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(POLL_INTERVAL_S),
        retry=retry_if_result(lambda value: not value),
    )
    try:
        return polls(check)
    except RetryError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None
