"""``/api/v1/dsr``: data-subject requests (access, erasure, rectification, opt-out)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from crmos.api.auth import AdminKey, ReadKey
from crmos.api.problems import answers
from crmos.api.routes.compliance import actor
from crmos.compliance import Compliance
from crmos.core.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["dsr"])


class Identifier(BaseModel):
    """Who the request is about."""

    type: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="user_id, anonymous_id, email, phone, profile_id, ...",
    )
    value: str = Field(min_length=1, max_length=255)


class NewRequest(BaseModel):
    """A data-subject request."""

    kind: Literal["access", "erasure", "rectification", "opt_out"]
    identifier: Identifier
    traits: dict[str, Any] = Field(default={}, description="Rectification: corrected traits.")
    purposes: list[str] = Field(default=[], description="Opt-out: purposes (default sale, ...).")
    run: bool = Field(default=True, description="Run now (else the worker runs it soon).")


def _svc(request: Request) -> Compliance:
    service: Compliance = request.app.state.container.compliance
    return service


@router.post(
    "/dsr",
    status_code=201,
    summary="Receive (and run) a data-subject request",
    responses=answers(404),
)
def create(request: Request, key: AdminKey, body: NewRequest) -> dict[str, Any]:
    """An unknown subject is a 404; an erasure under a legal hold ends ``blocked``."""
    dsr = _svc(request).dsr
    ident = (body.identifier.type, body.identifier.value)
    if body.kind == "rectification":
        return dsr.rectify(key.workspace_id, ident, body.traits, actor(key)).as_dict()
    params = {"purposes": body.purposes} if body.purposes else {}
    made = dsr.receive(key.workspace_id, body.kind, ident, "api", actor(key), params)
    if body.run:
        made = dsr.run(key.workspace_id, made.id, actor(key))
    return made.as_dict()


@router.get("/dsr", summary="Data-subject requests")
def list_requests(
    request: Request,
    key: ReadKey,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Newest first, optionally by status (received, running, blocked, completed, ...)."""
    found = _svc(request).requests(key.workspace_id, status, limit)
    return {"data": [r.as_dict() for r in found]}


@router.get("/dsr/{request_id}", summary="One request with its proof-of-erasure report")
def get(request: Request, key: ReadKey, request_id: str) -> dict[str, Any]:
    """The request, its report and its letters."""
    return _svc(request).request(key.workspace_id, request_id).as_dict(with_letters=True)


@router.post("/dsr/{request_id}/run", summary="Run a received request")
def run(request: Request, key: AdminKey, request_id: str) -> dict[str, Any]:
    """Runs it now (a request already run is returned as it is)."""
    return _svc(request).dsr.run(key.workspace_id, request_id, actor(key)).as_dict()


@router.get("/dsr/{request_id}/export", summary="The access export")
def export(request: Request, key: AdminKey, request_id: str) -> dict[str, Any]:
    """Everything held about the person, machine-readable (computed now, never stored)."""
    return _svc(request).dsr.export(key.workspace_id, request_id)


@router.get(
    "/dsr/{request_id}/letter",
    summary="The confirmation letter",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}, "text/plain": {}}}},
)
def letter(
    request: Request,
    key: ReadKey,
    request_id: str,
    locale: str = "en",
    format: Literal["html", "text"] = "html",
) -> Response:
    """The letter in one of the locales it was written in."""
    found = _svc(request).request(key.workspace_id, request_id).letters or {}
    tag = locale.replace("-", "_")
    item = found.get(tag) or found.get(tag.split("_")[0])
    if item is None:
        raise NotFound("letter", f"{request_id} in {locale} (written in: {', '.join(found)})")
    if format == "text":
        return PlainTextResponse(item["text"])
    return HTMLResponse(item["html"])
