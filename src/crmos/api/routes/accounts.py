"""``/api/v1/accounts``: accounts (the graph's account nodes) listed, searched and shown with
their people. Every query is scoped to the key's workspace."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Engine

from crmos.api.auth import ReadKey
from crmos.core.errors import Problem, ValidationError
from crmos.graph import get_account, list_accounts
from crmos.identity import catch_up, profile_summaries

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.container.engine
    return engine


@router.get("/accounts", summary="List and search accounts")
def accounts(
    request: Request,
    key: ReadKey,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of the account's name or key.")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            pattern=r"^[A-Za-z0-9_\-]+$",
            description="next_cursor of the previous page, unchanged.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Accounts per page.")] = 50,
) -> dict[str, Any]:
    """A page of accounts in id order with their people counts, and ``next_cursor``."""
    with _engine(request).connect() as conn:
        page, last = list_accounts(conn, key.workspace_id, q or "", _after(cursor), limit)
    next_cursor = base64.urlsafe_b64encode(last.encode()).decode().rstrip("=") if last else None
    return {"data": [a.as_dict() for a in page], "next_cursor": next_cursor}


@router.get("/accounts/{account_id}", summary="An account with its people")
def account(
    request: Request,
    key: ReadKey,
    account_id: Annotated[
        str, Path(max_length=300, description="account:KEY or KEY, e.g. account:acme")
    ],
) -> dict[str, Any]:
    """The account, and its people (live profiles working there) with their summaries."""
    container = request.app.state.container
    catch_up(container.engine, container.vault.search_key(key.workspace_id), key.workspace_id)
    with _engine(request).connect() as conn:
        found = get_account(conn, key.workspace_id, account_id)
        shown = {
            s.id: s
            for s in profile_summaries(conn, key.workspace_id, [p.profile_id for p in found.people])
        }
    people = [
        p.as_dict() | {"profile": shown[p.profile_id].as_dict() if p.profile_id in shown else None}
        for p in found.people
    ]
    return found.as_dict() | {"people_list": people}


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        problem = Problem("cursor", "is not a cursor of this listing; start again without it")
        raise ValidationError("bad cursor", [problem]) from exc
