"""Helpers for the graph tests: Segment messages sent through intake and the stream."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient

from crmos.api import create_app
from crmos.bootstrap import Container

_serial = itertools.count()
# Ten days ago: the scenarios' edges with a validity (co_attended lasts 30 days) are in force.
BASE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=10)


def send(container: Container, workspace_id: str, *messages: dict[str, Any]) -> None:
    """Ingest ``messages`` and drain the stream (identity, then graph)."""
    lines = [orjson.dumps({"messageId": f"g-{next(_serial)}", **m}) for m in messages]
    for report in container.ingest().ingest_lines(workspace_id, "test", lines):
        assert report.rejected == 0, report.problems
    container.stream.run_once()


def at(days: float) -> str:
    """An ISO timestamp ``days`` after the scenarios' base day."""
    return (BASE + timedelta(days=days)).isoformat()


def group(user: str, account: str, name: str) -> dict[str, Any]:
    """``user`` works at ``account``."""
    return {"type": "group", "userId": user, "groupId": account, "traits": {"name": name}}


def track(user: str, name: str, days: float = 0, **props: Any) -> dict[str, Any]:
    """A track event of ``user``."""
    return {
        "type": "track",
        "userId": user,
        "event": name,
        "properties": props,
        "timestamp": at(days),
    }


def quiet_client(container: Container) -> TestClient:
    """A client of the app without its background workers: the tests drain the stream
    themselves (``send``), so no second drain runs beside them."""
    return TestClient(create_app(container))
