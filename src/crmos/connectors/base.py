"""What every connector shares: settings resolution, derived keys, running async code."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from crmos.core.settings import ConnectorSettings, Settings

T = TypeVar("T")

#: An action is built with the whole settings tree, its connectors section, or nothing (defaults).
SettingsLike = Settings | ConnectorSettings | None


def connector_settings(settings: SettingsLike) -> ConnectorSettings:
    """The connectors section of whatever the engine handed to an action's constructor."""
    if isinstance(settings, Settings):
        return settings.connectors
    return settings if settings is not None else ConnectorSettings()


def compensation_key(key: str) -> str:
    """The idempotency key of a step's compensation, distinct from the forward call's key."""
    return f"{key}:compensate"


def key_digest(key: str, length: int = 32) -> str:
    """A short, stable, opaque digest of an idempotency key (for ids with a length limit)."""
    return hashlib.sha256(key.encode()).hexdigest()[:length]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the calling thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name="crmos-connector-async")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
