"""Components: the installed ones with their permissions the way an app store shows them, the
signed catalog, the monthly review of the most used ones, approving or rejecting a component
with a reason (keys with the ``compliance`` scope), and installing from the catalog or removing
(keys that may act), as ``crmos components`` does.

Everything comes from the playbooks room's marketplace (``container.playbooks.market``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from starlette.responses import RedirectResponse

from crmos.core.errors import ConfigError, ValidationError
from crmos.playbooks.market import Marketplace
from crmos.web.console import (
    ActionRefused,
    ConsoleRoute,
    Viewer,
    actor,
    actor_any,
    render,
    state,
    viewer,
)

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
        "can_act": who.can_act,
        "installed_now": request.query_params.get("installed", "")[:100],
        "removed_now": request.query_params.get("removed", "")[:100],
        "page": "components",
    }
    state_of = {c["name"]: c["status"] for c in context["installed"]}
    try:
        entries = market.catalog().search(q)
        context["catalog"] = [
            e.model_dump() | {"permissions": e.permissions(), "status": state_of.get(e.name)}
            for e in entries
        ]
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


@router.post("/components/install")
def install(
    request: Request,
    who: Annotated[Viewer, Depends(actor)],
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Install ``name`` from the signed catalog, verified as ``crmos components install``
    verifies it; it enters as pending review (audited in the viewer's workspace)."""
    _market(request).install(name, by=(who.workspace_id, who.actor))
    return RedirectResponse(f"/components?installed={quote(name)}", status_code=303)


@router.post("/components/{name}/remove")
def remove(request: Request, who: Annotated[Viewer, Depends(actor)], name: str) -> Response:
    """Uninstall the package that provides ``name`` (audited in the viewer's workspace)."""
    _market(request).remove(name, by=(who.workspace_id, who.actor))
    return RedirectResponse(f"/components?removed={quote(name)}", status_code=303)
