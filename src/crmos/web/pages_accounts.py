"""Accounts: the list, and one account with its people (roles and scores), its open runs (the
runs acting for its people that have not ended), related accounts with their evidence and
confidence, and the occasions its people met at."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from crmos.graph import get_account, list_accounts, neighbourhood, scores_of
from crmos.identity import profile_view
from crmos.web.console import ConsoleRoute, Viewer, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SHOWN_PEOPLE = 50
OPEN_RUNS = 50


@router.get("/accounts")
def accounts(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    q: Annotated[str, Query(max_length=200)] = "",
    after: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Accounts whose name or key contains ``q``, in id order."""
    with state(request).container.engine.connect() as conn:
        found, last = list_accounts(conn, who.workspace_id, q, after or None, 50)
    context = {"accounts": found, "next_after": last, "q": q, "page": "accounts"}
    return render(request, "accounts.html.j2", who.t, context, who=who)


@router.get("/accounts/{account_id}")
def account(request: Request, who: Annotated[Viewer, Depends(viewer)], account_id: str) -> Response:
    """One account and what surrounds it in the graph."""
    c = state(request).container
    fanout = c.graph.settings.fanout if c.graph is not None else 100
    with c.engine.connect() as conn:
        found = get_account(conn, who.workspace_id, account_id)
        people = [_person(conn, who.workspace_id, p.as_dict()) for p in found.people]
        around = neighbourhood(
            conn, who.workspace_id, found.summary.id, hops=2, limit=60, fanout=fanout
        ).as_dict()
    shown = people[:SHOWN_PEOPLE]
    # Every person's runs, not only those shown: one indexed query for all of them.
    open_runs = c.runs.about(
        who.workspace_id, [p["id"] for p in people], open_only=True, limit=OPEN_RUNS
    )
    start = found.summary.id
    related = [e for e in around["edges"] if _other(e, start).startswith("account:")]
    occasions = sorted({n["node"] for n in around["nodes"] if n["kind"] == "occasion"})
    context: dict[str, Any] = {
        "a": found.as_dict(),
        "people": shown,
        "runs": [r.as_dict() for r in open_runs],
        "names": {p["id"]: p["name"] for p in people},
        "related": related,
        "occasions": occasions,
        "page": "accounts",
    }
    return render(request, "account.html.j2", who.t, context, who=who)


def _person(conn: Connection, ws: str, person: dict[str, Any]) -> dict[str, Any]:
    """A person at the account with their name and role scores."""
    view = profile_view(conn, ws, person["profile_id"])
    return person | {
        "id": view["id"],
        "name": view["traits"].get("name") or view["id"],
        "title": view["traits"].get("title") or "",
        "scores": scores_of(conn, ws, view["id"]),
    }


def _other(edge: dict[str, Any], start: str) -> str:
    return str(edge["dst"] if edge["src"] == start else edge["src"])
