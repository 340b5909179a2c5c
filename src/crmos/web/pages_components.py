"""Components: the installed ones with their permissions the way an app store shows them, the
signed catalog, the monthly review of the most used ones, and approving or rejecting a
component with a reason (keys with the ``compliance`` scope).

Everything comes from the playbooks room's marketplace (``container.playbooks.market``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from starlette.responses import RedirectResponse

from crmos.core.errors import ConfigError, ValidationError
from crmos.playbooks.market import Marketplace
from crmos.web.console import ActionRefused, ConsoleRoute, Viewer, actor_any, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _market(request: Request) -> Marketplace:
    market: Marketplace = state(request).container.playbooks.market
    return market


async def reviewer(request: Request) -> Viewer:
    """Dependency for a review: a signed-in key with the ``compliance`` scope, CSRF echoed."""
    who = await actor_any(request)
    if "compliance" not in who.key.scopes:
        raise ActionRefused
    return who


@router.get("/components")
def components(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Installed components, the monthly review, and the catalog (searched with ``q``)."""
    market = _market(request)
    context: dict[str, Any] = {
        "installed": market.installed(who.workspace_id),
        "review": market.review_view(who.workspace_id),
        "q": q,
        "catalog": [],
        "catalog_error": "",
        "can_review": "compliance" in who.key.scopes,
        "page": "components",
    }
    try:
        entries = market.catalog().search(q)
        context["catalog"] = [e.model_dump() | {"permissions": e.permissions()} for e in entries]
    except (ConfigError, ValidationError) as exc:  # no catalog configured, or a bad one
        context["catalog_error"] = exc.message
    return render(request, "components.html.j2", who.t, context, who=who)


@router.post("/components/{name}/review")
def review(
    request: Request,
    who: Annotated[Viewer, Depends(reviewer)],
    name: str,
    decision: Annotated[Literal["approved", "rejected"], Form()],
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Approve or reject the installed version of ``name``; the reason is mandatory."""
    _market(request).review(who.workspace_id, name, decision, reason, who.key.name)
    return RedirectResponse(f"/components?done={decision}", status_code=303)
