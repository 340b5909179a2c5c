"""``/api/v1/audiences``: real-time audiences (a named condition) and their members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from crmos.api.auth import AdminKey, ReadKey
from crmos.api.problems import answers
from crmos.bootstrap import Container
from crmos.graph import (
    add_members,
    create_audience,
    delete_audience,
    get_audience,
    list_audiences,
    members,
)

router = APIRouter(prefix="/api/v1", tags=["audiences"])


class NewAudience(BaseModel):
    """An audience definition."""

    name: str = Field(min_length=1, max_length=200)
    condition: str = Field(
        min_length=1,
        max_length=4000,
        description="CEL over traits, events (name -> {count, last_ms}), edges (type -> count), "
        "scores (role -> confidence) and now_ms; or hand_picked for an audience whose members "
        "are added by hand (POST .../members).",
    )


class NewMembers(BaseModel):
    """Live profiles to add to a hand-picked audience."""

    profile_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1,
        max_length=1000,
        description="Profile ids; merged or unknown ones are skipped.",
    )


def _c(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


@router.post("/audiences", status_code=201, summary="Define an audience", responses=answers(409))
def post_audience(request: Request, key: AdminKey, body: NewAudience) -> dict[str, Any]:
    """Create an audience; it is filled from the profiles seen so far, then kept live."""
    with _c(request).engine.begin() as conn:
        audience = create_audience(
            conn, key.workspace_id, body.name, body.condition, f"key:{key.id}"
        )
        total: int = members(conn, key.workspace_id, audience.id, limit=1)["total"]
    return audience.as_dict() | {"members": total}


@router.get("/audiences", summary="Audiences")
def get_audiences(request: Request, key: ReadKey) -> dict[str, Any]:
    """The workspace's audiences."""
    with _c(request).engine.connect() as conn:
        return {"data": [a.as_dict() for a in list_audiences(conn, key.workspace_id)]}


@router.get("/audiences/{audience_id}", summary="One audience")
def get_one(request: Request, key: ReadKey, audience_id: str) -> dict[str, Any]:
    """An audience definition."""
    with _c(request).engine.connect() as conn:
        return get_audience(conn, key.workspace_id, audience_id).as_dict()


@router.get("/audiences/{audience_id}/members", summary="Members of an audience")
def get_members(
    request: Request,
    key: ReadKey,
    audience_id: str,
    limit: int = Query(default=100, ge=1, le=1000),
    after: str = Query(default="", description="Page after this profile id."),
) -> dict[str, Any]:
    """Live profiles in the audience now, in id order, with the total."""
    with _c(request).engine.connect() as conn:
        return members(conn, key.workspace_id, audience_id, limit=limit, after=after)


@router.post(
    "/audiences/{audience_id}/members",
    summary="Add people to a hand-picked audience",
    responses=answers(409),  # an audience defined by a condition takes no one by hand
)
def add_to(request: Request, key: AdminKey, audience_id: str, body: NewMembers) -> dict[str, Any]:
    """Add live profiles; ``added`` counts those not in it before, ``total`` the members now."""
    with _c(request).engine.begin() as conn:
        added = add_members(conn, key.workspace_id, audience_id, body.profile_ids, f"key:{key.id}")
        total: int = members(conn, key.workspace_id, audience_id, limit=1)["total"]
    return {"added": added, "total": total}


@router.delete("/audiences/{audience_id}", status_code=204, summary="Delete an audience")
def remove(request: Request, key: AdminKey, audience_id: str) -> Response:
    """Delete an audience and its membership."""
    with _c(request).engine.begin() as conn:
        delete_audience(conn, key.workspace_id, audience_id, f"key:{key.id}")
    return Response(status_code=204)
