"""Helpers for the saga tests: a fast engine on the test store and step builders."""

from __future__ import annotations

from typing import Any

from crmos.bootstrap import Container
from crmos.sagas import RunInfo
from crmos.sagas.testing import HttpEffect
from tests.polling import wait_until

__all__ = ["wait_until"]  # re-exported: saga tests import it from here

ACTION = "testing.http_effect"


def start_fast_engine(container: Container, **overrides: Any) -> Container:
    """Start the saga engine in-process with short backoffs, polling and timeouts."""
    fast = {
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "poll_interval_s": 0.02,
        "step_timeout_s": 5.0,
        **overrides,
    }
    container.settings.sagas = container.settings.sagas.model_copy(update=fast)
    if ACTION not in container.runs.registry:
        container.runs.registry.add(HttpEffect())
    container.start_engine()
    return container


def effect(step_id: str, url: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    """A step applying effect ``name`` (default: the step id) at an EffectServer."""
    return {
        "id": step_id,
        "action": ACTION,
        "with": {"url": url, "effect": name or step_id, **extra.pop("with", {})},
        **extra,
    }


def run_to_end(container: Container, workspace_id: str, spec: dict[str, Any]) -> RunInfo:
    """Start a run and wait (at most 30 s) until it ended."""
    run = container.runs.start(workspace_id, spec)
    ended = container.runs.wait(workspace_id, run.id, timeout_s=30)
    assert ended.terminal, f"run {run.id} did not end: {ended.status}"
    return ended
