"""``/api/v1/runs``: start sagas, follow their timeline, cancel, retry, report step outcomes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, Field

from crmos.api.auth import AdminKey, ReadKey, WriteKey
from crmos.api.problems import answers
from crmos.sagas import RUN_STATUSES, Runs

router = APIRouter(prefix="/api/v1", tags=["runs"])


def _runs(request: Request) -> Runs:
    runs: Runs = request.app.state.container.runs
    return runs


RUN_EXAMPLE = {
    "name": "framework_agreement",
    "input": {"customer_id": "C-1001", "amount": 250000},
    "steps": [
        {
            "id": "credit",
            "action": "erp.credit_check",
            "with": {"customer_id": "${input.customer_id}", "amount": "${input.amount}"},
        }
    ],
}


class OutcomeIn(BaseModel):
    """A step's outcome: a delivery receipt, a webhook callback."""

    status: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="delivered, read, bounced, failed ... (a step's fail_on list names those "
        "that fail the run).",
    )
    detail: dict[str, Any] = Field(default={}, description="Anything the sender reports.")


@router.post("/runs", status_code=201, summary="Validate and start a run")
def start_run(
    request: Request,
    key: AdminKey,
    body: Annotated[dict[str, Any], Body(examples=[RUN_EXAMPLE])],
    validate_only: bool = Query(default=False, description="Check the run, start nothing."),
    traceparent: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Every problem (unknown action, params of the wrong type, bad references) is listed in
    one 400 answer before anything starts. The run continues the caller's trace when a
    ``traceparent`` header is sent."""
    runs = _runs(request)
    if validate_only:
        return {"valid": True, "plan": runs.validate(body).to_data()}
    return runs.start(key.workspace_id, body, traceparent).as_dict()


@router.get("/runs", summary="Runs, newest first")
def list_runs(
    request: Request,
    key: ReadKey,
    status: Literal[RUN_STATUSES] | None = Query(default=None),  # type: ignore[valid-type]
    limit: int = Query(default=50, ge=1, le=500),
    before_ms: int | None = Query(default=None, description="Page: runs created before this."),
) -> dict[str, Any]:
    """Runs of the key's workspace; page with ``before_ms`` = the last run's ``created_ms``."""
    data = [r.as_dict() for r in _runs(request).find(key.workspace_id, status, limit, before_ms)]
    return {"data": data, "next_before_ms": data[-1]["created_ms"] if data else None}


@router.get("/runs/stats", summary="Runs per status and unacknowledged deliveries")
def run_stats(request: Request, key: ReadKey) -> dict[str, Any]:
    """Counts for the key's workspace."""
    return _runs(request).stats(key.workspace_id)


@router.get("/runs/{run_id}", summary="A run with its step states and timeline")
def get_run(request: Request, key: ReadKey, run_id: str) -> dict[str, Any]:
    """The timeline has one row per attempt, compensation, awaited outcome and decision."""
    return _runs(request).get(key.workspace_id, run_id).as_dict()


@router.post(
    "/runs/{run_id}/cancel", status_code=202, summary="Cancel a run", responses=answers(409)
)
def cancel_run(request: Request, key: AdminKey, run_id: str) -> dict[str, Any]:
    """The run stops before its next step and compensates what it did."""
    return _runs(request).cancel(key.workspace_id, run_id).as_dict()


@router.post("/runs/{run_id}/retry", status_code=202, summary="Retry a run", responses=answers(409))
def retry_run(request: Request, key: AdminKey, run_id: str) -> dict[str, Any]:
    """A run that needs attention retries its failed compensations; a compensated or
    cancelled run starts again as a new run (``retry_of`` points back)."""
    return _runs(request).retry(key.workspace_id, run_id).as_dict()


@router.post(
    "/runs/{run_id}/steps/{step_id}/outcome",
    status_code=202,
    response_class=Response,
    summary="Report the outcome a step awaits",
    responses=answers(409),
)
def report_outcome(
    request: Request, key: WriteKey, run_id: str, step_id: str, body: OutcomeIn
) -> Response:
    """Delivered once per step: a repeated callback is ignored, a late one is refused (409)."""
    _runs(request).report_outcome(key.workspace_id, run_id, step_id, body.status, body.detail)
    return Response(status_code=202)


@router.get("/actions", summary="The actions steps may use")
def list_actions(request: Request, key: ReadKey) -> dict[str, Any]:
    """Each action's name, where it comes from and the JSON Schema of its params."""
    registry = _runs(request).registry
    return {
        "data": [
            {
                "name": action.name,
                "origin": registry.origin(action.name),
                "params": action.params.model_json_schema(),
                "description": (type(action).__doc__ or "").strip().split("\n")[0],
            }
            for action in registry
        ]
    }
