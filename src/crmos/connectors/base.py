"""What every connector shares: settings resolution, derived keys, running async code, and
the consent check of actions that send a message to a person."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from crmos.core.errors import ConsentRefused
from crmos.core.settings import ConnectorSettings, Settings
from crmos.sagas import CONSENT_FREE_PURPOSES, StepContext

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


def require_consent(
    ctx: StepContext,
    target: str,
    purpose: str,
    channel: str,
    addresses: Iterable[str],
    profile_id: str | None = None,
) -> list[dict[str, Any]]:
    """Ask the run's consent port about every recipient before a message goes out.

    Returns what the port answered per recipient (kept in the step's result). Raises
    :class:`ConsentRefused` (permanent: a retry cannot help) naming the purpose, the channel and
    each refused recipient with its profile, before anything is sent; nobody gets a message
    some of its recipients may not get. Purposes in ``CONSENT_FREE_PURPOSES`` are not checked.
    A step without a port or a workspace is refused: consent cannot be shown there.
    """
    if purpose in CONSENT_FREE_PURPOSES:
        return []
    recipients = list(dict.fromkeys(addresses)) or [profile_id or ""]
    if ctx.consent is None or ctx.workspace_id is None:
        why = "no consent check is available to this step (it runs outside a workspace's engine)"
        raise ConsentRefused(target, purpose, channel, dict.fromkeys(recipients, why))
    answers, refusals = [], {}
    for address in recipients:
        answer = ctx.consent.check(
            ctx.workspace_id,
            purpose=purpose,
            channel=channel,
            address=address or None,
            profile_id=profile_id,
        )
        who = f"{address} (profile {answer.profile_id or 'unknown'})"
        if not answer.allowed:
            refusals[who] = answer.reason + (
                f"; decision {answer.decision_id}" if answer.decision_id else ""
            )
        answers.append(
            {"recipient": address, "profile_id": answer.profile_id, "reason": answer.reason}
        )
    if refusals:
        raise ConsentRefused(target, purpose, channel, refusals)
    return answers
