"""Operations: runs with their timeline (retry, cancel), one decision and its why, graph health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.responses import RedirectResponse

from crmos.core.errors import NotFound
from crmos.graph import graph_health, health_series
from crmos.ingest import intake_stats
from crmos.sagas import RUN_STATUSES, TERMINAL
from crmos.store import get_decision
from crmos.web.console import ConsoleRoute, Viewer, actor, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

RETRYABLE = frozenset({"compensated", "cancelled", "needs_attention"})
"""The runs ``Runs.retry`` takes: a repair of one that needs attention, or a fresh start."""


@router.get("/runs")
def runs(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    status: Annotated[str, Query(max_length=40)] = "",
    before_ms: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """Runs, newest first, filtered by status; paged by creation time."""
    c = state(request).container
    found = [r.as_dict() for r in c.runs.find(who.workspace_id, status or None, 50, before_ms)]
    context = {
        "runs": found,
        "status": status,
        "statuses": RUN_STATUSES,
        "next_before": found[-1]["created_ms"] if len(found) == 50 else None,
        "page": "runs",
    }
    return render(request, "runs.html.j2", who.t, context, who=who)


@router.get("/runs/{run_id}")
def run(request: Request, who: Annotated[Viewer, Depends(viewer)], run_id: str) -> Response:
    """A run's steps and timeline: attempts, durations, errors, compensations, outcomes."""
    detail = state(request).container.runs.get(who.workspace_id, run_id).as_dict()
    context = {
        "run": detail,
        "can_retry": detail["status"] in RETRYABLE,
        "can_cancel": detail["status"] not in TERMINAL,
        "page": "runs",
    }
    return render(request, "run.html.j2", who.t, context, who=who)


@router.post("/runs/{run_id}/{verb}")
def act_on_run(
    request: Request, who: Annotated[Viewer, Depends(actor)], run_id: str, verb: str
) -> Response:
    """Cancel a run, or retry one that failed."""
    c = state(request).container
    if verb == "cancel":
        c.runs.cancel(who.workspace_id, run_id)
        return RedirectResponse(f"/runs/{run_id}?done=cancel", status_code=303)
    if verb != "retry":
        raise NotFound("run action", verb)
    again = c.runs.retry(who.workspace_id, run_id)
    return RedirectResponse(f"/runs/{again.id}?done=retry", status_code=303)


@router.get("/decisions/{decision_id}")
def decision(
    request: Request, who: Annotated[Viewer, Depends(viewer)], decision_id: str
) -> Response:
    """Rule, version, inputs, score, reason, actions and approver of one decision."""
    with state(request).container.engine.connect() as conn:
        found = get_decision(conn, who.workspace_id, decision_id)
    if found is None:
        raise NotFound("decision", decision_id)
    return render(request, "decision.html.j2", who.t, {"d": found, "page": "runs"}, who=who)


@router.get("/health")
def health(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """Event loss, match conflicts and inference failures, per source and per rule, charted."""
    c = state(request).container
    window = c.settings.graph.health_window_s
    with c.engine.connect() as conn:
        figures = graph_health(conn, c.log, who.workspace_id, window)
        series = health_series(conn, c.log, who.workspace_id, window)
    stats = [s.as_dict() for s in intake_stats(c.log, who.workspace_id)]
    by_rule = figures["inference_failures"]["by_rule"]
    charts: dict[str, Any] = {
        "sources": {
            "labels": [s["source"] for s in stats],
            "series": [
                {"name": who.t.gettext(k), "data": [s[k] for s in stats]}
                for k in ("accepted", "duplicate", "rejected")
            ],
        },
        "rules": {
            "labels": list(by_rule),
            "series": [
                {"name": who.t.gettext(k), "data": [by_rule[r].get(k, 0) for r in by_rule]}
                for k in ("evaluated", "matched", "failed")
            ],
        },
    }
    trends = [_trend(who, key, series[key], per) for key, per in TRENDS]
    charts |= {t["key"]: t["chart"] for t in trends}
    context = {"h": figures, "stats": stats, "charts": charts, "trends": trends}
    context |= {"series_step": series["step_s"], "page": "health"}
    return render(request, "health.html.j2", who.t, context, who=who)


TRENDS = (
    ("event_loss", "by_source"),
    ("match_conflicts", "by_source"),
    ("inference_failures", "by_rule"),
)
TREND_TITLES = {
    "event_loss": "Event loss over time",
    "match_conflicts": "Match conflicts over time",
    "inference_failures": "Inference failures over time",
}


def _trend(who: Viewer, key: str, figure: dict[str, Any], per: str) -> dict[str, Any]:
    """One rate over time as a line chart (all, and per source or rule) and its summary rows:
    each line's peak rate and how many buckets counted anything."""
    lines = [(who.t.gettext("All"), figure["all"])]
    lines += sorted(figure[per].items())
    chart = {"kind": "time", "series": [{"name": n, "data": pts} for n, pts in lines]}
    rows = []
    for name, points in lines:
        rates = [rate for _, rate in points if rate is not None]
        rows.append({"name": name, "peak": max(rates, default=None), "buckets": len(rates)})
    title = TREND_TITLES[key]
    return {"key": f"trend-{key}", "title": title, "chart": chart, "rows": rows, "per": per}
