"""Customer 360 at ``/profiles/{profile_id}``, and the actions taken from it: split a merge,
approve or reject a recommendation (a reason is required to reject)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from starlette.responses import RedirectResponse

from crmos.core.errors import Problem, ValidationError
from crmos.identity import profile_view, split_profile
from crmos.web.console import ConsoleRoute, Viewer, actor, is_htmx, render, state, viewer
from crmos.web.profile_data import KINDS, TimelineFilter, gather, timeline

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Short = Annotated[str, Query(max_length=40)]
Reason = Annotated[str, Form(min_length=1, max_length=500)]


@router.get("/profiles/{profile_id}")
def profile(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    profile_id: str,
    kind: Short = "",
    touchpoint: Short = "",
    since: Short = "",
    page: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """The whole story of one customer; htmx swaps the ``timeline`` block as it is filtered."""
    c = state(request).container
    filt = TimelineFilter(kind if kind in KINDS else "", touchpoint, _since(since), page)
    with c.engine.connect() as conn:
        data = gather(c, conn, who.workspace_id, profile_id)
        data["timeline"] = timeline(c, conn, who.workspace_id, data["view"], filt)
    view = data["view"]
    context: dict[str, Any] = {
        "display": view["traits"].get("name") or view["id"],
        **data,
        "filt": filt,
        "since": since,
        "kinds": KINDS,
        "page": "profile",
    }
    block = "timeline" if is_htmx(request) else None
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


def _since(day: str) -> int | None:
    """``YYYY-MM-DD`` (UTC midnight) as epoch ms; anything else means no bound."""
    try:
        moment = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)
