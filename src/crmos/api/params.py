"""Input shapes the routes share, declared once so validation and the OpenAPI schema agree.

Each is an ``Annotated`` type: FastAPI validates it (a mismatch answers 400) and publishes the
same pattern or bound in the document, so a client generated from ``/openapi.json`` cannot
send what the server refuses for its form.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Request
from pydantic import AwareDatetime, BeforeValidator, Field

from crmos.core.errors import Problem, ValidationError
from crmos.graph import NODE_KINDS

NODE_ID_PATTERN = rf"^({'|'.join(NODE_KINDS)}):.+$"
NODE_ID_HELP = "KIND:KEY with KIND one of " + ", ".join(NODE_KINDS) + ", e.g. account:acme."
EDGE_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
PACK_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,39}:.+$"
DURATION_PATTERN = r"^[0-9]{1,9}(ms|s|m|h|d|w)$"
# Python's str.strip() also removes the separators U+001C..U+001F, which regex \s does not.
NOT_BLANK_PATTERN = r"[^\s\x1c-\x1f]"

PATTERN_HINTS = {
    NODE_ID_PATTERN: NODE_ID_HELP,
    EDGE_TYPE_PATTERN: "a snake_case edge type, 40 characters at most",
    PACK_NAME_PATTERN: "a pack name (GET /api/v1/compliance/packs lists them)",
    IDENTIFIER_PATTERN: "TYPE:VALUE, e.g. email:alice@example.com",
    DURATION_PATTERN: "a duration: 30s, 15m, 12h, 3d or 2w",
    NOT_BLANK_PATTERN: "text that is not blank",
}
"""What each pattern means in words, for the 400 answer to a value that breaks it."""


def _iso_text(value: Any) -> Any:
    """Refuse what pydantic would also read as a time but the schema's date-time is not."""
    if not isinstance(value, str | datetime) or (
        isinstance(value, str) and value.strip().lstrip("-").replace(".", "").isdigit()
    ):
        raise ValueError("expected an ISO 8601 time with a zone, e.g. 2026-03-01T00:00:00Z")
    return value


Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    Field(description="ISO 8601 with a zone, e.g. 2026-03-01T00:00:00Z"),
]
"""A point in time; a bare number or a time without a zone is refused."""


def epoch_ms(moment: datetime | None) -> int | None:
    """``moment`` in Unix milliseconds (None stays None)."""
    return None if moment is None else int(moment.timestamp() * 1000)


# A JSON "\u0000" escape that is not itself escaped (an odd run of backslashes before it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def refuse_nul(request: Request) -> None:
    """Dependency: refuse U+0000 in the path, the query or a JSON body, on every store alike.

    PostgreSQL text and jsonb cannot hold it, so without this check the same request is
    stored by SQLite and fails as a server error on PostgreSQL.
    """
    where = None
    if "\x00" in request.scope["path"] or b"%00" in request.scope["query_string"]:
        where = "url"
    elif request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        if b"\\u0000" in body and _JSON_NUL.search(body):
            where = "body"
    elif request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        if any(isinstance(v, str) and "\x00" in v for v in form.values()):
            where = "form"
    if where is not None:
        problem = Problem(where, "text must not contain U+0000 (NUL)", reason="nul_character")
        raise ValidationError("request rejected", [problem])
