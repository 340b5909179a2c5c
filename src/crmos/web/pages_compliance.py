"""Compliance: the heatmap by region, complaints with their SLA, the audit chain, and the DSR
console (start a request, SLA countdown, per-system log, proof of erasure, letters)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Form, Request, Response
from starlette.responses import HTMLResponse, RedirectResponse

from crmos.core.errors import NotFound
from crmos.store import verify_audit
from crmos.web.console import HEADERS, ConsoleRoute, Viewer, actor, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Kind = Literal["access", "erasure", "rectification", "opt_out"]


@router.get("/compliance")
def compliance(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """Heatmap, complaints, requests and the audit chain's state, on one page."""
    svc = state(request).container.compliance
    with svc.engine.connect() as conn:
        breaks = list(verify_audit(conn, who.workspace_id))
    context = {
        "heat": svc.heatmap(who.workspace_id),
        "complaints": svc.complaints(who.workspace_id),
        "requests": [r.as_dict() for r in svc.requests(who.workspace_id, None, 100)],
        "audit_breaks": breaks,
        "now_ms": svc.now_ms(),
        "page": "compliance",
    }
    return render(request, "compliance.html.j2", who.t, context, who=who)


@router.post("/dsr")
def start_request(
    request: Request,
    who: Annotated[Viewer, Depends(actor)],
    kind: Annotated[Kind, Form()],
    identifier_type: Annotated[str, Form(min_length=1, max_length=40)],
    identifier_value: Annotated[str, Form(min_length=1, max_length=255)],
) -> Response:
    """Receive a request for the person holding the identifier, and run it now."""
    dsr = state(request).container.compliance.dsr
    ident = (identifier_type.strip(), identifier_value.strip())
    made = dsr.receive(who.workspace_id, kind, ident, "console", who.actor)
    made = dsr.run(who.workspace_id, made.id, who.actor)
    return RedirectResponse(f"/dsr/{made.id}?done=start", status_code=303)


@router.get("/dsr/{request_id}")
def dsr_request(
    request: Request, who: Annotated[Viewer, Depends(viewer)], request_id: str
) -> Response:
    """One request: its SLA, the per-system log, the proof and the letters."""
    svc = state(request).container.compliance
    found = svc.request(who.workspace_id, request_id).as_dict(with_letters=True)
    context = {"r": found, "now_ms": svc.now_ms(), "page": "compliance"}
    return render(request, "dsr.html.j2", who.t, context, who=who)


@router.get("/dsr/{request_id}/proof.json")
def proof(request: Request, who: Annotated[Viewer, Depends(viewer)], request_id: str) -> Response:
    """The request's report (proof of erasure) as a file."""
    found = state(request).container.compliance.request(who.workspace_id, request_id)
    body = orjson.dumps(found.as_dict(), option=orjson.OPT_INDENT_2)
    headers = HEADERS | {"Content-Disposition": f'attachment; filename="{request_id}.json"'}
    return Response(body, media_type="application/json", headers=headers)


@router.get("/dsr/{request_id}/letter/{locale}")
def letter(
    request: Request, who: Annotated[Viewer, Depends(viewer)], request_id: str, locale: str
) -> Response:
    """A confirmation letter as written (HTML, in its own language and direction)."""
    found = state(request).container.compliance.request(who.workspace_id, request_id)
    item = (found.letters or {}).get(locale)
    if item is None:
        raise NotFound("letter", f"{request_id} in {locale}")
    return HTMLResponse(item["html"], headers=HEADERS)
