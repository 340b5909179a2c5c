"""``/healthz`` and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from crmos.api.auth import metrics_token

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Liveness and store reachability")
def healthz(request: Request) -> dict[str, Any]:
    """``{"status": "ok"}`` when the store answers."""
    with request.app.state.container.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(metrics_token)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Intake accounting and process metrics in the Prometheus text format.

    Requires the ``server.metrics_token`` setting as a Bearer token: the figures name every
    workspace.
    """
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
