"""``/api/v1/decisions`` and ``/api/v1/profiles/{id}/decisions``: why the system did what it did."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

from crmos.api.auth import ReadKey
from crmos.core.errors import NotFound
from crmos.store import Decision, decisions_of, get_decision

router = APIRouter(prefix="/api/v1", tags=["decisions"])


def decision_dict(decision: Decision) -> dict[str, Any]:
    """A decision as JSON-ready data."""
    data = asdict(decision)
    data["event_ids"] = list(decision.event_ids)
    data["actions"] = list(decision.actions)
    return data


@router.get("/profiles/{profile_id}/decisions", summary="Decisions about a profile")
def profile_decisions(
    request: Request,
    key: ReadKey,
    profile_id: str,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Every automated choice about the profile, newest first: inputs, rule and version, score,
    reason in words, actions and approver."""
    with request.app.state.container.engine.connect() as conn:
        found = decisions_of(conn, key.workspace_id, profile_id, limit)
    return {"data": [decision_dict(d) for d in found]}


@router.get("/decisions/{decision_id}", summary="One decision")
def get_one(request: Request, key: ReadKey, decision_id: str) -> dict[str, Any]:
    """A decision of the key's workspace."""
    with request.app.state.container.engine.connect() as conn:
        found = get_decision(conn, key.workspace_id, decision_id)
    if found is None:
        raise NotFound("decision", decision_id)
    return decision_dict(found)
