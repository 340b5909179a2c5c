"""``/healthz`` and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Liveness and store reachability")
def healthz(request: Request) -> dict[str, Any]:
    """``{"status": "ok"}`` when the store answers."""
    with request.app.state.container.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Intake accounting and process metrics in the Prometheus text format."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
