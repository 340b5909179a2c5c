"""``/api/v1/profiles/{id}/value`` and ``/api/v1/analytics``: lifetime value, P(alive) and
likelihoods with their reasons, and the workspace's fitted models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from crmos.analytics import models, profile_value, top_values
from crmos.api.auth import ReadKey
from crmos.api.problems import answers
from crmos.identity import resolve

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.get(
    "/profiles/{profile_id}/value",
    summary="A profile's lifetime value and likelihoods, with reasons",
    responses=answers(404),
)
def get_value(request: Request, key: ReadKey, profile_id: str) -> dict[str, Any]:
    """Expected purchases over the horizon, P(alive), discounted CLV, and the churn, renewal
    and purchase likelihoods with their top features in words (a merged id answers for the
    profile it joined). 404 until the profile has been scored."""
    with request.app.state.container.engine.connect() as conn:
        live = resolve(conn, key.workspace_id, profile_id) or profile_id
        return profile_value(conn, key.workspace_id, live)


@router.get("/analytics/models", summary="The workspace's fitted CLV and propensity models")
def get_models(request: Request, key: ReadKey) -> dict[str, Any]:
    """Parameters and metrics of each model as last fitted: AUC of the model and of the
    recency/frequency baseline on the training rows, the dev window and the held-out window,
    which of the two scores profiles (``scored_by``) and why (``decision_in_words``); a target
    without a model says why in ``params.skipped``."""
    with request.app.state.container.engine.connect() as conn:
        return {"data": models(conn, key.workspace_id)}


@router.get("/analytics/values", summary="Profiles by lifetime value, highest first")
def get_values(
    request: Request, key: ReadKey, limit: int = Query(default=50, ge=1, le=1000)
) -> dict[str, Any]:
    """The workspace's most valuable profiles with their values and likelihoods."""
    with request.app.state.container.engine.connect() as conn:
        return {"data": top_values(conn, key.workspace_id, limit)}
