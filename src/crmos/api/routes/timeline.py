"""``GET /api/v1/profiles/{profile_id}/timeline``: one paged timeline of everything that
happened to a profile, across the rooms (see :mod:`crmos.api.timeline`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query, Request
from sqlalchemy import Engine

from crmos.api.auth import ReadKey
from crmos.api.params import Moment, epoch_ms
from crmos.api.timeline import CURSOR_PATTERN, KINDS, Position, TimelineQuery, timeline_page

router = APIRouter(prefix="/api/v1", tags=["identity"])

Kind = Literal[
    "event", "interaction", "firing", "run", "step", "decision", "recommendation", "dsr", "merge"
]
assert get_args(Kind) == KINDS, "the query's kinds are the timeline's"


@router.get(
    "/profiles/{profile_id}/timeline",
    summary="A profile's timeline: events, interactions, firings, runs, steps, decisions, requests",
)
def profile_timeline(
    request: Request,
    key: ReadKey,
    profile_id: str,
    kind: Annotated[
        list[Kind] | None,
        Query(description="Only entries of these kinds (repeat the parameter for several)."),
    ] = None,
    touchpoint: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[A-Za-z0-9_.:\-]+$",
            description="Only entries seen through this touchpoint (events and interactions).",
        ),
    ] = None,
    since: Annotated[
        Moment | None, Query(description="Only entries at or after this time.")
    ] = None,
    until: Annotated[Moment | None, Query(description="Only entries before this time.")] = None,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page, unchanged."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Entries per page.")] = 25,
) -> dict[str, Any]:
    """Newest first. ``data`` holds entries with ``kind``, ``id``, ``at``, ``title``,
    ``detail``, ``touchpoint`` and ``links`` (decision, run, ... ids); ``next_cursor`` reads
    the next page or is null. A merged id answers with its surviving profile's timeline."""
    query = TimelineQuery(
        kinds=frozenset(kind or ()),
        touchpoint=touchpoint,
        since_ms=epoch_ms(since),
        until_ms=epoch_ms(until),
        cursor=None if cursor is None else Position.parse(cursor),
        limit=limit,
    )
    container = request.app.state.container
    engine: Engine = container.engine
    with engine.connect() as conn:
        return timeline_page(container, conn, key.workspace_id, profile_id, query)
