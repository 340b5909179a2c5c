"""Helpers for the identity tests: send Segment messages through intake and the stream."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from sqlalchemy import func, select

from crmos.bootstrap import Container
from crmos.identity import profile_of, profile_view
from crmos.store.tables_identity import identity_merges, profiles

_serial = itertools.count()


def send(container: Container, workspace_id: str, *messages: dict[str, Any]) -> None:
    """Ingest ``messages`` (touchpoint from ``context.touchpoint``, else ``test``), then stitch."""
    lines = []
    for message in messages:
        body = {"messageId": f"m-{next(_serial)}", **message}
        lines.append(orjson.dumps(body))
    for report in container.ingest().ingest_lines(workspace_id, "test", lines):
        assert report.rejected == 0, report.problems
    container.stream.run_once()


def identify(
    source: str, user_id: str | None = None, anon: str | None = None, **traits: Any
) -> dict[str, Any]:
    """An identify call from touchpoint ``source``."""
    message: dict[str, Any] = {
        "type": "identify",
        "traits": traits,
        "context": {"touchpoint": source},
    }
    if user_id:
        message["userId"] = user_id
    if anon:
        message["anonymousId"] = anon
    return message


def track(
    source: str, user_id: str | None = None, anon: str | None = None, **context: Any
) -> dict[str, Any]:
    """A track call from touchpoint ``source``."""
    message: dict[str, Any] = {
        "type": "track",
        "event": "Viewed",
        "context": {"touchpoint": source, **context},
    }
    if user_id:
        message["userId"] = user_id
    if anon:
        message["anonymousId"] = anon
    return message


def pid(container: Container, workspace_id: str, kind: str, value: str) -> str | None:
    """The live profile holding ``kind:value``."""
    with container.engine.connect() as conn:
        return profile_of(conn, workspace_id, kind, value)


def view(container: Container, workspace_id: str, profile_id: str) -> dict[str, Any]:
    """A profile's view."""
    with container.engine.connect() as conn:
        return profile_view(conn, workspace_id, profile_id)


def live_profiles(container: Container, workspace_id: str) -> int:
    """How many live (not merged-away) profiles the workspace has."""
    p = profiles.c
    with container.engine.connect() as conn:
        stmt = select(func.count()).where(p.workspace_id == workspace_id, p.root_id == p.id)
        return int(conn.execute(stmt).scalar_one())


def merge_count(container: Container, workspace_id: str) -> int:
    """Merge decisions recorded in the workspace."""
    m = identity_merges.c
    with container.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).where(m.workspace_id == workspace_id)).scalar_one()
        )
