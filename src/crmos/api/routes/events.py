"""``GET /api/v1/events``, ``GET /api/v1/intake/stats``: what intake stored and counted."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from crmos.api.auth import ReadKey
from crmos.ingest import EventReader, intake_stats
from crmos.store import EventLog, EventQuery

router = APIRouter(prefix="/api/v1", tags=["events"])

EventKind = Literal["track", "identify", "page", "screen", "group", "alias"]


@router.get("/events", summary="Stored events, in Segment's shape")
def list_events(
    request: Request,
    key: ReadKey,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    type: EventKind | None = None,
    after: int = Query(default=0, ge=0, description="Return events with seq above this."),
    limit: int = Query(default=100, ge=1, le=1000),
    newest_first: bool = False,
) -> dict[str, Any]:
    """Events of the key's workspace, oldest first; page with ``after`` = the last ``seq``."""
    reader: EventReader = request.app.state.container.reader
    query = EventQuery(key.workspace_id, user_id, anonymous_id, type, after, limit, newest_first)
    data = reader.find(query)
    return {"data": data, "next_after": data[-1]["seq"] if data else after}


@router.get("/intake/stats", summary="Loss accounting per source")
def stats(request: Request, key: ReadKey) -> dict[str, Any]:
    """Received, accepted, duplicate and rejected (by reason) events, and sequence gaps."""
    log: EventLog = request.app.state.container.log
    return {"data": [s.as_dict() for s in intake_stats(log, key.workspace_id)]}
