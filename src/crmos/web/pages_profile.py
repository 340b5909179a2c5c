"""Customer 360 at ``/profiles/{profile_id}``, and the actions taken from it: split a merge,
approve or reject a recommendation (a reason is required to reject)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from starlette.responses import RedirectResponse

from crmos.api.timeline import KINDS, Position, TimelineQuery, timeline_page
from crmos.core.errors import Problem, ValidationError
from crmos.identity import profile_tree, profile_view, split_profile
from crmos.web.console import ConsoleRoute, Viewer, actor, is_htmx, render, state, viewer
from crmos.web.profile_data import gather, touchpoints

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Short = Annotated[str, Query(max_length=40)]
Reason = Annotated[str, Form(min_length=1, max_length=500)]
DAY_MS = 86_400_000


@router.get("/profiles/{profile_id}")
def profile(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    profile_id: str,
    kind: Short = "",
    touchpoint: Short = "",
    since: Short = "",
    until: Short = "",
    cursor: Annotated[str, Query(max_length=60)] = "",
) -> Response:
    """The whole story of one customer; htmx swaps the ``timeline`` block as it is filtered
    and paged (the page's other panels are not gathered for it)."""
    c = state(request).container
    since_ms, until_ms = _day(since), _day(until)
    query = TimelineQuery(
        kinds=frozenset({kind} & set(KINDS)),
        touchpoint=touchpoint or None,
        since_ms=since_ms,
        until_ms=None if until_ms is None else until_ms + DAY_MS,  # the whole day given
        cursor=Position.parse(cursor) if cursor else None,
    )
    fragment = is_htmx(request)
    with c.engine.connect() as conn:
        if fragment:
            tree = profile_tree(conn, who.workspace_id, profile_id)
            data: dict[str, Any] = {"view": {"id": tree[0], "merged_ids": tree[1:]}}
        else:
            data = gather(c, conn, who.workspace_id, profile_id)
        data["timeline"] = timeline_page(c, conn, who.workspace_id, profile_id, query)
        data["touchpoints"] = touchpoints(conn, who.workspace_id, data["view"])
    view = data["view"]
    context: dict[str, Any] = {
        "display": view.get("traits", {}).get("name") or view["id"],
        **data,
        "filt": {"kind": kind, "touchpoint": touchpoint, "since": since, "until": until},
        "cursor": cursor,
        "kinds": KINDS,
        "page": "profile",
    }
    block = "timeline" if fragment else None
    return render(request, "profile.html.j2", who.t, context, who=who, block=block)


@router.post("/profiles/{profile_id}/split")
def split(
    request: Request,
    who: Annotated[Viewer, Depends(actor)],
    profile_id: str,
    reason: Reason,
    merge_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Undo a merge, with the reason on the record; back to the (surviving) profile."""
    c = state(request).container
    with c.engine.begin() as conn:
        result = split_profile(
            conn,
            who.workspace_id,
            profile_id,
            reason=reason.strip(),
            merge_id=merge_id or None,
            actor=who.actor,
            settings=c.settings.identity,
        )
    return RedirectResponse(f"/profiles/{result.survivor_id}?done=split", status_code=303)


@router.post("/recommendations/{rec_id}/{verdict}")
def decide(
    request: Request,
    who: Annotated[Viewer, Depends(actor)],
    rec_id: str,
    verdict: str,
    profile_id: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve or reject a recommendation; a rejection needs a reason."""
    if verdict not in ("approve", "reject"):
        raise ValidationError("unknown verdict", [Problem("verdict", "approve or reject")])
    if verdict == "reject" and not note.strip():
        raise ValidationError(
            "a rejection needs a reason", [Problem("note", "say why the recommendation is wrong")]
        )
    agent = state(request).container.agent
    with agent.engine.begin() as conn:
        language = agent.language_of(conn, who.workspace_id)
        agent.recommender.decide(
            conn,
            who.workspace_id,
            rec_id,
            verdict == "approve",
            who.actor,
            note.strip() or None,
            language,
        )
        live = profile_view(conn, who.workspace_id, profile_id)["id"]
    return RedirectResponse(f"/profiles/{live}?done={verdict}", status_code=303)


def _day(day: str) -> int | None:
    """``YYYY-MM-DD`` (UTC midnight) as epoch ms; anything else means no bound."""
    try:
        moment = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)
