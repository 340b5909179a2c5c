"""People: the list with search and filters kept in the URL, and bulk export of every match."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.responses import StreamingResponse

from crmos.graph import list_audiences
from crmos.ingest import intake_stats
from crmos.web.console import HEADERS, ConsoleRoute, Viewer, is_htmx, render, state, viewer
from crmos.web.finder import SORTS, Filters, every_match, find_people

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Q = Annotated[str, Query(max_length=200)]
COLUMNS = ("id", "name", "email", "phone", "account", "created_ms", "last_seen_ms", "events")


def filters(
    q: Q = "",
    touchpoint: Q = "",
    audience: Q = "",
    role: Q = "",
    min_score: Annotated[float, Query(ge=0, le=1)] = 0.5,
    consent: Q = "",
    suppressed: bool = False,
    open_review: bool = False,
    seen_since: Q = "",
    sort: Q = "-last_seen",
) -> Filters:
    """Dependency: the list's filters from the URL."""
    return Filters(
        q,
        touchpoint,
        audience,
        role,
        min_score,
        consent,
        suppressed,
        open_review,
        seen_since,
        sort,
    )


@router.get("/people")
def people(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    chosen: Annotated[Filters, Depends(filters)],
    cursor: Q = "",
) -> Response:
    """The list; htmx swaps only the ``results`` block as the filters change."""
    c = state(request).container
    found = find_people(request, who.workspace_id, chosen, cursor)
    with c.engine.connect() as conn:
        audiences = list_audiences(conn, who.workspace_id)
    context: dict[str, Any] = {
        "found": found,
        "filters": chosen,
        "audiences": audiences,
        "touchpoints": sorted(s.source for s in intake_stats(c.log, who.workspace_id)),
        "sorts": SORTS,
        "page": "people",
        "global_q": chosen.q,
    }
    block = "results" if is_htmx(request) else None
    return render(request, "people.html.j2", who.t, context, who=who, block=block)


@router.get("/people.csv")
def export(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    chosen: Annotated[Filters, Depends(filters)],
) -> Response:
    """Every match of the filters (not just the page shown) as CSV, streamed page by page."""
    first = find_people(request, who.workspace_id, chosen, "", 1)  # errors before streaming

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        if first["data"]:
            for person in every_match(request, who.workspace_id, chosen):
                writer.writerow([person.get(col) or "" for col in COLUMNS])
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    headers = HEADERS | {"Content-Disposition": 'attachment; filename="people.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)
