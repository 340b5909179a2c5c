"""The OpenAPI document as a contract: every operation declares the problem+json it answers.

Answers that follow from an operation's shape are declared here once, read from the document
FastAPI builds out of the same parameters and dependencies that produce them: an operation with
a security requirement answers 401 (and 403 for a key's scope), one with inputs answers 400, one
with an id in its path answers 404. Answers that depend on what the operation does (409, 413, a
404 for an id in the body) are declared on the route with :func:`crmos.api.problems.answers`.
FastAPI's assumed 422 is removed: crmos answers a malformed request with 400.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from crmos.api.problems import PROBLEM_JSON, PROBLEM_REF, all_codes, answers

WRITE_KEY_SCHEME = {
    "type": "http",
    "scheme": "basic",
    "description": "Segment style: the write key as the Basic user name, empty password "
    "(or a writeKey field in the body).",
}
# Schemes whose failures are only 401: no scope to lack.
TOKEN_ONLY = {"metricsToken"}


def problem_schemas() -> dict[str, Any]:
    """The ``Problem`` and ``ProblemItem`` component schemas (RFC 9457 plus ``code``)."""
    item = {
        "type": "object",
        "required": ["path", "message", "reason"],
        "properties": {
            "path": {"type": "string", "description": "Where, e.g. batch[3].userId."},
            "message": {"type": "string"},
            "reason": {"type": "string", "description": "A short stable word: too_large ..."},
            "index": {"type": "integer", "description": "The batch item, for batches."},
        },
    }
    problem = {
        "type": "object",
        "required": ["type", "title", "status", "code", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "code": {"type": "string", "enum": all_codes(), "description": "Stable: docs/api.md."},
            "detail": {"type": "string", "description": "What failed and how to fix it."},
            "problems": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemItem"}},
        },
    }
    return {"Problem": problem, "ProblemItem": item}


def implied_statuses(operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation's shape implies."""
    statuses: list[int] = []
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    if schemes:
        statuses.append(401)
    if schemes - TOKEN_ONLY:
        statuses.append(403)
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        statuses.append(400)
    if any(p["in"] == "path" and "enum" not in p.get("schema", {}) for p in parameters):
        statuses.append(404)
    return statuses


def _declare(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    declared = responses.get("422", {}).get("content", {})
    if "application/json" in declared and PROBLEM_JSON not in declared:
        del responses["422"]  # FastAPI's assumption; RequestValidationError answers 400 here
    for status, response in answers(*implied_statuses(operation)).items():
        responses.setdefault(str(status), response)
    for status, response in responses.items():
        # A route may declare an answer as problem+json without its schema; give it the one.
        content = response.get("content", {})
        if status.startswith(("4", "5")) and not content.get(PROBLEM_JSON, {}).get("schema"):
            if content and PROBLEM_JSON not in content:
                continue  # an answer in another media type, on purpose
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every problem answer declared."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            _declare(operation)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(problem_schemas())
    components.setdefault("securitySchemes", {})["writeKey"] = WRITE_KEY_SCHEME
    return doc


def install(app: FastAPI) -> None:
    """Serve :func:`document` (built once) as the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
