"""The home page: today's intake (counters, loss per source, latest events), refreshed by htmx."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from crmos.ingest import intake_stats
from crmos.store import EventQuery
from crmos.web.console import ConsoleRoute, Viewer, is_htmx, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

COUNTERS = ("received", "accepted", "duplicate", "rejected")


@router.get("/")
def home(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """Intake figures of the viewer's workspace; htmx polls the ``intake`` block."""
    c = state(request).container
    stats = [s.as_dict() for s in intake_stats(c.log, who.workspace_id)]
    totals: dict[str, Any] = {k: sum(int(s[k]) for s in stats) for k in COUNTERS}
    events = c.reader.find(EventQuery(who.workspace_id, limit=25, newest_first=True))
    context = {"stats": stats, "totals": totals, "events": events, "page": "home"}
    block = "intake" if is_htmx(request) else None
    return render(request, "home.html.j2", who.t, context, who=who, block=block)
