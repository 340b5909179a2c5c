"""``POST /v1/{track|identify|page|screen|group|alias|batch}``: the Segment HTTP Tracking API."""

from __future__ import annotations

import zlib
from typing import Literal

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from crmos.api.auth import KeyResolver, secret_from_body, secret_from_header
from crmos.api.problems import answers
from crmos.core.errors import AuthError, PayloadTooLarge, Problem, ScopeError, ValidationError
from crmos.ingest import IngestService
from crmos.store import ApiKey

router = APIRouter(tags=["intake"])

Kind = Literal["track", "identify", "page", "screen", "group", "alias", "batch"]
_OK = orjson.dumps({"success": True})


@router.post(
    "/v1/{kind}",
    summary="Send events (Segment HTTP Tracking API)",
    responses=answers(400, 401, 403, 413),
    openapi_extra={
        "security": [{"writeKey": []}, {"apiKey": []}],
        "requestBody": {
            "required": True,
            "description": "A Segment message of this kind (a batch: {batch: [...]}), up to "
            "intake.max_event_bytes each and intake.max_batch_bytes in all; gzip accepted.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
async def send(kind: Kind, request: Request) -> Response:
    """Accept one event (or a batch); answered once the events are committed."""
    raw = await _body(request)
    key = _write_key(request, raw)
    service: IngestService = request.app.state.ingest
    await service.accept(key, kind, raw)
    return Response(_OK, media_type="application/json")


async def _body(request: Request) -> bytes:
    raw = await request.body()
    limit: int = request.app.state.settings.intake.max_batch_bytes
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, limit + 1)
        except zlib.error as exc:
            problem = Problem("$", f"body is not valid gzip: {exc}", reason="invalid_json")
            raise ValidationError("request rejected; nothing was stored", [problem]) from exc
        if len(raw) > limit:
            message = f"decompressed body is over the limit of {limit} bytes"
            raise PayloadTooLarge("request rejected", [Problem("$", message, reason="too_large")])
    return raw


def _write_key(request: Request, raw: bytes) -> ApiKey:
    secret = secret_from_header(request.headers.get("authorization")) or secret_from_body(raw)
    if secret is None:
        raise AuthError(
            "missing write key; send HTTP Basic auth with the write key as user name, "
            "or a writeKey field in the body"
        )
    resolver: KeyResolver = request.app.state.keys
    key = resolver.resolve(secret)
    if "write" not in key.scopes:
        raise ScopeError("write", key.scopes)
    return key
