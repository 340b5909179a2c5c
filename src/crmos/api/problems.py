"""Errors as ``application/problem+json`` (RFC 9457): one table from error class to status.

Every error answer, ours and the framework's, is a problem document with a stable ``code``;
:func:`answers` declares them on a route so the OpenAPI document says what it can answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from crmos.api.params import PATTERN_HINTS
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
PROBLEM_REF = "#/components/schemas/Problem"

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

# Answers the framework gives on its own (routing, and the last-resort handler for a bug).
FRAMEWORK_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
}
OTHER_HTTP_CODE = "http_error"

# What each declared status means, as the OpenAPI document and docs/api.md say it.
MEANING = {
    400: "The request breaks the contract: `problems` names each offending field.",
    401: "Credentials are missing, malformed, unknown or revoked.",
    403: "The key is valid but lacks the scope this operation needs.",
    404: "An id (in the path or the request) does not exist in the key's workspace.",
    409: "The request conflicts with the current state (a name taken, a run already ended).",
    410: "The subject's data key was destroyed (crypto-shredded); the data is gone for good.",
    413: "The request is over the size limits.",
    422: "The target system refused the action, or its params are wrong; retrying cannot help.",
}


def status_of(error: CrmosError) -> int:
    """The HTTP status for ``error``."""
    return next(status for cls, status in STATUS if isinstance(error, cls))


def error_codes() -> dict[str, type[CrmosError]]:
    """Every ``code`` of the error tree (with the classes of other rooms), by code."""
    found: dict[str, type[CrmosError]] = {}
    pending: list[type[CrmosError]] = [CrmosError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def all_codes() -> list[str]:
    """Every ``code`` a problem answer can carry, sorted."""
    return sorted({*error_codes(), *FRAMEWORK_CODES.values(), OTHER_HTTP_CODE})


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries declaring problem+json answers with these statuses."""
    return {
        status: {
            "description": MEANING.get(status, "An error."),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    problems: list[Problem] | None = None,
    challenge: str = "Bearer",
    headers: dict[str, str] | None = None,
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
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = f'{challenge} realm="crmos"'
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers or None
    )


def allowed_methods(request: Request) -> str | None:
    """The methods the OpenAPI document lists for the request's path, for an ``Allow`` header.

    Starlette names only the methods of the first route whose path matches, so a resource
    served by several routes (GET and DELETE) would advertise too little. A literal path wins
    over templates it also matches (``/runs/stats`` over ``/runs/{run_id}``).
    """
    path = request.scope["path"]
    found: list[set[str]] = []
    for template, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(path):
            methods = {m.upper() for m in operations if m != "parameters"}
            if template == path:
                found = [methods]
                break
            found.append(methods)
    if not found:
        return None
    methods = set().union(*found)
    return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))


def _message(error: Any) -> str:
    """Pydantic's message, with what a pattern means in words when it is one of ours."""
    hint = PATTERN_HINTS.get((error.get("ctx") or {}).get("pattern", ""))
    if hint is None:
        return str(error["msg"])
    return f"{str(error.get('input'))[:100]!r} is not {hint}"


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
            Problem(".".join(str(p) for p in err["loc"]), _message(err), reason="invalid_field")
            for err in exc.errors()
        ]
        return problem_response(400, "validation_error", "invalid request parameters", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = FRAMEWORK_CODES.get(exc.status_code, OTHER_HTTP_CODE)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return problem_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        # Served by Starlette's outermost middleware, which re-raises afterwards so the
        # server logs the traceback; the caller gets a problem document, not a text/plain 500.
        del request, exc
        return problem_response(500, "internal_error", "internal error; the server log has it")
