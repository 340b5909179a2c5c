"""``/api/v1/recommendations``: next best actions, and the approval of high-impact ones."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from crmos.agent import AgentService
from crmos.agent import repo as agent_repo
from crmos.api.auth import AdminKey, ReadKey
from crmos.api.problems import answers

router = APIRouter(prefix="/api/v1", tags=["recommendations"])

Status = Literal["proposed", "pending", "approved", "rejected"]


class Verdict(BaseModel):
    """Who decides, and optionally why."""

    approver: str | None = Field(
        default=None, max_length=200, description="The person deciding (default: the key name)."
    )
    note: str | None = Field(default=None, max_length=2000, description="Why.")


def _agent(request: Request) -> AgentService:
    agent: AgentService = request.app.state.container.agent
    return agent


@router.get("/recommendations", summary="Recommendations, newest first")
def list_recommendations(
    request: Request,
    key: ReadKey,
    profile_id: str | None = None,
    status: Status | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    """Recommendations of the workspace; ``status=pending`` lists those waiting for approval."""
    with _agent(request).engine.connect() as conn:
        data = agent_repo.list_recommendations(conn, key.workspace_id, profile_id, status, limit)
    return {"data": data}


@router.get("/profiles/{profile_id}/recommendations", summary="Next best actions for a profile")
def profile_recommendations(
    request: Request, key: ReadKey, profile_id: str, status: Status | None = None
) -> dict[str, Any]:
    """The profile's recommendations with impact level, status and citations."""
    with _agent(request).engine.connect() as conn:
        data = agent_repo.list_recommendations(conn, key.workspace_id, profile_id, status)
    return {"data": data}


@router.get("/recommendations/{rec_id}", summary="One recommendation")
def get_recommendation(request: Request, key: ReadKey, rec_id: str) -> dict[str, Any]:
    """A recommendation with its reason and citations."""
    with _agent(request).engine.connect() as conn:
        return agent_repo.recommendation(conn, key.workspace_id, rec_id)


@router.post(
    "/recommendations/{rec_id}/approve",
    summary="Approve a high-impact recommendation",
    responses=answers(409),
)
def approve(
    request: Request, key: AdminKey, rec_id: str, body: Verdict | None = None
) -> dict[str, Any]:
    """Approve; the approver, a Decision and an audit entry are recorded."""
    return _decide(request, key.workspace_id, key.name, rec_id, True, body or Verdict())


@router.post(
    "/recommendations/{rec_id}/reject",
    summary="Reject a high-impact recommendation",
    responses=answers(409),
)
def reject(
    request: Request, key: AdminKey, rec_id: str, body: Verdict | None = None
) -> dict[str, Any]:
    """Reject; the approver, a Decision and an audit entry are recorded."""
    return _decide(request, key.workspace_id, key.name, rec_id, False, body or Verdict())


def _decide(
    request: Request, workspace_id: str, key_name: str, rec_id: str, approve: bool, body: Verdict
) -> dict[str, Any]:
    agent = _agent(request)
    approver = body.approver or f"key:{key_name}"
    with agent.engine.begin() as conn:
        language = agent.language_of(conn, workspace_id)
        return agent.recommender.decide(
            conn, workspace_id, rec_id, approve, approver, body.note, language
        )
