"""People: the list with search and filters kept in the URL, and bulk export of every match."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from crmos.web.console import HEADERS, ConsoleRoute, Viewer, is_htmx, render, state, viewer
from crmos.web.finder import Filters, find_people

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Q = Annotated[str, Query(max_length=200)]


def _filters(q: str, touchpoint: str, suppressed: bool) -> Filters:
    return Filters(q=q, touchpoint=touchpoint, suppressed=suppressed)


@router.get("/people")
def people(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    q: Q = "",
    touchpoint: Q = "",
    suppressed: bool = False,
    after: Q = "",
) -> Response:
    """The list; htmx swaps only the ``results`` block as the filters change."""
    filters = _filters(q, touchpoint, suppressed)
    with state(request).container.engine.connect() as conn:
        found = find_people(conn, who.workspace_id, filters, after=after)
    context = {"found": found, "filters": filters, "page": "people", "global_q": q}
    block = "results" if is_htmx(request) else None
    return render(request, "people.html.j2", who.t, context, who=who, block=block)


@router.get("/people.csv")
def export(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    q: Q = "",
    touchpoint: Q = "",
    suppressed: bool = False,
) -> Response:
    """Every match of the filters (not just the page shown) as CSV."""
    filters = _filters(q, touchpoint, suppressed)
    with state(request).container.engine.connect() as conn:
        found = find_people(conn, who.workspace_id, filters, limit=1_000_000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["profile_id", "name", "email", "phone", "user_id", "sources", "suppressed"])
    for p in found.rows:
        ids = p.identifiers
        writer.writerow(
            [
                p.profile_id,
                p.name,
                ids.get("email", ""),
                ids.get("phone", ""),
                ids.get("user_id", ""),
                " ".join(p.sources),
                p.suppressed,
            ]
        )
    headers = HEADERS | {"Content-Disposition": 'attachment; filename="people.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
