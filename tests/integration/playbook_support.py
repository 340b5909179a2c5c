"""Helpers for the playbook tests: example files, event messages, ingesting and draining."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import orjson

from crmos.bootstrap import Container

NOW = datetime.now(UTC).replace(microsecond=0)


def example(name: str) -> str:
    """A packaged example playbook."""
    return files("crmos.playbooks.examples").joinpath(name).read_text("utf-8")


def at(hours_ago: float) -> str:
    """An ISO timestamp ``hours_ago`` before now."""
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def identify(user: str, hours_ago: float = 100, **traits: Any) -> dict[str, Any]:
    """An identify call with traits."""
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": at(hours_ago),
            "messageId": f"id-{user}-{hours_ago}"}  # fmt: skip


def view(user: str, hours_ago: float, path: str = "/renewal/compare") -> dict[str, Any]:
    """A page view."""
    return {"type": "page", "userId": user, "name": "Renewal Compare", "timestamp": at(hours_ago),
            "properties": {"path": path}, "messageId": f"pv-{user}-{hours_ago}-{path}"}  # fmt: skip


def track(user: str, event: str, hours_ago: float, **props: Any) -> dict[str, Any]:
    """A track call."""
    return {"type": "track", "userId": user, "event": event, "timestamp": at(hours_ago),
            "properties": props, "messageId": f"tr-{user}-{event}-{hours_ago}"}  # fmt: skip


def ingest(container: Container, workspace_id: str, *messages: dict[str, Any]) -> None:
    """Write ``messages`` through intake and drain the stream (identity, graph, triggers …)."""
    lines = [orjson.dumps(m) for m in messages]
    for report in container.ingest().ingest_lines(workspace_id, "test", lines):
        assert not report.rejected, report
    container.stream.run_once()
