"""Work that waits for a person: the approval inbox (recommendations and playbook firings) and
the identity review queue (conflicts and suggested merges, with their evidence)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from starlette.responses import RedirectResponse

from crmos.agent import repo as agent_repo
from crmos.core.errors import Problem, ValidationError
from crmos.identity import get_review, list_reviews, resolve_review
from crmos.web.console import ConsoleRoute, Viewer, actor, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/approvals")
def approvals(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """Recommendations and playbook firings waiting for approval."""
    c = state(request).container
    with c.engine.connect() as conn:
        recs = agent_repo.list_recommendations(conn, who.workspace_id, status="pending")
    firings = [
        f
        for f in c.playbooks.firings(who.workspace_id, None, 500)
        if f["status"] == "awaiting_approval"
    ]
    context = {"recommendations": recs, "firings": firings, "page": "approvals"}
    return render(request, "approvals.html.j2", who.t, context, who=who)


@router.post("/playbook-firings/{firing_id}/approve")
def approve_firing(
    request: Request, who: Annotated[Viewer, Depends(actor)], firing_id: str
) -> Response:
    """A firing that awaits approval starts its run."""
    state(request).container.playbooks.approve(who.workspace_id, firing_id, who.key.name)
    return RedirectResponse("/approvals?done=approve", status_code=303)


@router.get("/reviews")
def reviews(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    kind: Annotated[Literal["", "conflict", "match"], Query()] = "",
    status: Annotated[Literal["open", "resolved", "approved", "rejected", "all"], Query()] = "open",
) -> Response:
    """The review queue, oldest first, each ticket with its evidence."""
    with state(request).container.engine.connect() as conn:
        tickets = list_reviews(
            conn,
            who.workspace_id,
            kind=kind or None,
            status=None if status == "all" else status,
            limit=200,
        )
    context = {"tickets": tickets, "kind": kind, "status": status, "page": "reviews"}
    return render(request, "reviews.html.j2", who.t, context, who=who)


@router.post("/reviews/{review_id}/{decision}")
def resolve(
    request: Request,
    who: Annotated[Viewer, Depends(actor)],
    review_id: str,
    decision: str,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Resolve a conflict, approve a suggested merge, or reject it (a reason is required)."""
    if decision not in ("resolve", "approve", "reject"):
        raise ValidationError("unknown decision", [Problem("decision", "resolve, approve, reject")])
    if decision == "reject" and not note.strip():
        raise ValidationError(
            "a rejection needs a reason", [Problem("note", "say why these are not one person")]
        )
    c = state(request).container
    with c.engine.begin() as conn:
        get_review(conn, who.workspace_id, review_id)
        resolve_review(
            conn,
            who.workspace_id,
            review_id,
            decision=decision,
            note=note.strip(),
            actor=who.actor,
            settings=c.settings.identity,
        )
    return RedirectResponse(f"/reviews?done={decision}", status_code=303)
