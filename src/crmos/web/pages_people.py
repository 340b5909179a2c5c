"""People: the list with search and filters kept in the URL, and bulk actions on every match:
export as CSV, and add to a hand-picked audience (an existing one or a new saved list)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from starlette.responses import RedirectResponse, StreamingResponse

from crmos.core.errors import Problem, ValidationError
from crmos.graph import HAND_PICKED, add_members, create_audience, list_audiences
from crmos.ingest import intake_stats
from crmos.web.console import HEADERS, ConsoleRoute, Viewer, actor, is_htmx, render, state, viewer
from crmos.web.finder import SORTS, Filters, every_match, find_people

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Q = Annotated[str, Query(max_length=200)]
COLUMNS = (
    "id", "name", "email", "phone", "account", "created_ms", "last_seen_ms", "events", "clv",
    "churn",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting so is read as a formula by spreadsheets (CSV injection, OWASP)."""


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
    clv_min: Q = "",
    clv_max: Q = "",
    churn_min: Q = "",
    sort: Q = "-last_seen",
) -> Filters:
    """Dependency: the list's filters from the URL (numbers checked by the API's query model,
    whose error names the parameter)."""
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
        clv_min.strip(),
        clv_max.strip(),
        churn_min.strip(),
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
        "lists": [a for a in audiences if a.condition == HAND_PICKED],
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
                writer.writerow([cell(person.get(col)) for col in COLUMNS])
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    headers = HEADERS | {"Content-Disposition": 'attachment; filename="people.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


def cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading ``'`` defuses a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@router.post("/people/audience")
def add_to_audience(
    request: Request,
    who: Annotated[Viewer, Depends(actor)],
    chosen: Annotated[Filters, Depends(filters)],
    audience: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add every match of the filters (in the URL) to a hand-picked audience, or to a new one
    named ``name``; then show that audience's members."""
    if not audience and not name.strip():
        problem = Problem("audience", "pick an audience or name a new one")
        raise ValidationError("no audience chosen", [problem])
    ids = [person["id"] for person in every_match(request, who.workspace_id, chosen)]
    with state(request).container.engine.begin() as conn:
        if name.strip():
            audience = create_audience(
                conn, who.workspace_id, name.strip(), HAND_PICKED, who.actor
            ).id
        added = add_members(conn, who.workspace_id, audience, ids, who.actor)
    return RedirectResponse(f"/people?audience={audience}&added={added}", status_code=303)
