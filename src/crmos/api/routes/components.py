"""``/api/v1/components``: installed components with their permissions and review status, the
monthly review view, the signed catalog, and approving or rejecting (compliance scope).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from crmos.api.auth import Declared, ReadKey, require
from crmos.api.problems import answers
from crmos.core.errors import NotFound
from crmos.playbooks.market import Marketplace
from crmos.store import ApiKey

router = APIRouter(prefix="/api/v1", tags=["components"])


def reviewer(request: Request, declared: Declared) -> ApiKey:
    """Dependency: a key with the ``compliance`` scope."""
    del declared
    return require(request, "compliance")


ComplianceKey = Annotated[ApiKey, Depends(reviewer)]


def _market(request: Request) -> Marketplace:
    market: Marketplace = request.app.state.container.playbooks.market
    return market


class ReviewIn(BaseModel):
    """A reviewer's decision about the installed version of a component."""

    decision: Literal["approved", "rejected"] = Field(description="approved or rejected.")
    reason: str = Field(min_length=1, max_length=4000, description="Why (mandatory).")


@router.get("/components", summary="Installed components, permissions and review status")
def installed(request: Request, key: ReadKey) -> list[dict[str, Any]]:
    """Every installed component: package, version, permissions, limits, review status."""
    return _market(request).installed(key.workspace_id)


@router.get("/components/-/review", summary="The monthly review: most used components")
def review_view(
    request: Request, key: ReadKey, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    """The most used components (steps of playbooks in force), their permissions and last
    review date."""
    return _market(request).review_view(key.workspace_id, limit)


@router.get(
    "/components/-/catalog", summary="Search the signed catalog", responses=answers(400, 404)
)
def search(
    request: Request, key: ReadKey, q: Annotated[str, Query(max_length=200)] = ""
) -> list[dict[str, Any]]:
    """Catalog entries whose name, description or publisher contains ``q``; 404 when no
    catalog is configured (``CRMOS__PLAYBOOKS__CATALOG``)."""
    market = _market(request)
    if not market.settings.playbooks.catalog:
        raise NotFound("component catalog", "none configured: set CRMOS__PLAYBOOKS__CATALOG")
    found = market.catalog().search(q)
    return [e.model_dump() | {"permissions": e.permissions()} for e in found]


@router.get("/components/{name}", summary="One component", responses=answers(404))
def show(request: Request, key: ReadKey, name: str) -> dict[str, Any]:
    """Permissions, limits, params JSON Schema and every review decision."""
    return _market(request).show(key.workspace_id, name)


@router.post(
    "/components/{name}/review",
    summary="Approve or reject a component (compliance scope)",
    responses=answers(400, 403, 404),
)
def decide(request: Request, key: ComplianceKey, name: str, body: ReviewIn) -> dict[str, Any]:
    """Record the decision with its reason (an audit chain entry); only approved components
    can appear in a published playbook."""
    review = _market(request).review(key.workspace_id, name, body.decision, body.reason, key.name)
    return review.as_dict()
