"""Errors as ``application/problem+json`` (RFC 9457): one table from error class to status."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from crmos.core.errors import (
    AuthError,
    ConfigError,
    Conflict,
    CrmosError,
    KeyDestroyed,
    NotFound,
    PayloadTooLarge,
    PermanentError,
    Problem,
    ScopeError,
    StoreError,
    TransientError,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"

# Most specific first: the first matching class decides the status.
STATUS: list[tuple[type[CrmosError], int]] = [
    (PayloadTooLarge, 413),
    (ValidationError, 400),
    (ScopeError, 403),
    (AuthError, 401),
    (NotFound, 404),
    (Conflict, 409),
    (KeyDestroyed, 410),
    (StoreError, 503),
    (PermanentError, 422),
    (TransientError, 502),
    (ConfigError, 500),
    (CrmosError, 500),
]


def status_of(error: CrmosError) -> int:
    """The HTTP status for ``error``."""
    return next(status for cls, status in STATUS if isinstance(error, cls))


def problem_response(
    status: int,
    code: str,
    detail: str,
    problems: list[Problem] | None = None,
    challenge: str = "Bearer",
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://crmos.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if problems:
        body["problems"] = [p.as_dict() for p in problems]
    headers = {"WWW-Authenticate": f'{challenge} realm="crmos"'} if status == 401 else None
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def install(app: FastAPI) -> None:
    """Answer every error, ours and the framework's, as problem+json."""

    @app.exception_handler(CrmosError)
    async def _crmos(request: Request, exc: CrmosError) -> Response:
        problems = exc.problems if isinstance(exc, ValidationError) else None
        # Segment intake authenticates with Basic; a Basic challenge on the management API
        # would make browsers pop up a password dialog over the dashboard.
        challenge = "Basic" if request.url.path.startswith("/v1/") else "Bearer"
        return problem_response(status_of(exc), exc.code, exc.message, problems, challenge)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> Response:
        problems = [
            Problem(".".join(str(p) for p in err["loc"]), err["msg"], reason="invalid_field")
            for err in exc.errors()
        ]
        return problem_response(400, "validation_error", "invalid request parameters", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, str(exc.detail))
