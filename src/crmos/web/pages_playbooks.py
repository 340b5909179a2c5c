"""Playbooks: those in force, and one playbook's versions and their diff, the version in force
at a moment, a dry-run (who would fire, per variant), its firings and its experiment results.

Everything comes from the playbooks room's service (``container.playbooks``) and, for the
outcome of the firings' runs, the sagas room's (``container.runs``).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from crmos.bootstrap import Container
from crmos.core.errors import CrmosError, NotFound, Problem, ValidationError
from crmos.playbooks import Version
from crmos.web.console import ConsoleRoute, Viewer, is_htmx, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

DAY_MS = 86_400_000
FIRINGS_SHOWN = 50
FIRINGS_COUNTED = 1000
Text = Annotated[str, Query(max_length=64)]


@router.get("/playbooks")
def playbooks(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """The playbooks in force now, each with its version and when it was put in force."""
    found = state(request).container.playbooks.in_force_all(who.workspace_id)
    context = {"playbooks": found, "page": "playbooks"}
    return render(request, "playbooks.html.j2", who.t, context, who=who)


@router.get("/playbooks/{playbook_id}")
def playbook(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    playbook_id: str,
    at: Text = "",
    older: Text = "",
    newer: Text = "",
    since: Text = "",
) -> Response:
    """One playbook; ``at`` picks the moment whose version is shown, ``older``/``newer`` two
    versions to diff, ``since`` (a day) runs a dry-run over the events stored from then."""
    c = state(request).container
    service = c.playbooks
    history = service.history(who.workspace_id, playbook_id)
    at_ms = _moment(at)
    shown = _in_force(c, who.workspace_id, playbook_id, at_ms)
    older = older or (history[-2].hash if len(history) > 1 else "")
    newer = newer or history[-1].hash
    diff = service.diff(who.workspace_id, older, newer) if older and older != newer else ""
    firings = service.firings(who.workspace_id, playbook_id, FIRINGS_COUNTED)
    context: dict[str, Any] = {
        "playbook_id": playbook_id,
        "history": list(reversed(history)),
        "shown": shown,
        "at": at,
        "older": older,
        "newer": newer,
        "diff": diff.splitlines(),
        "firings": firings[:FIRINGS_SHOWN],
        "experiment": _experiment(c, who.workspace_id, playbook_id, firings),
        "since": since,
        "dry": _dry_run(c, who.workspace_id, history[-1], since),
        "page": "playbooks",
    }
    block = "dryrun" if is_htmx(request) else None
    return render(request, "playbook.html.j2", who.t, context, who=who, block=block)


def _in_force(c: Container, ws: str, playbook_id: str, at_ms: int | None) -> Version | None:
    """The version in force at ``at_ms`` (now when None); None when none was."""
    try:
        return c.playbooks.in_force(ws, playbook_id, at_ms)
    except NotFound:
        return None


def _dry_run(c: Container, ws: str, newest: Version, since: str) -> dict[str, Any] | None:
    """Replay the events stored since the day ``since`` through the newest version."""
    since_ms = _moment(since)
    if since_ms is None:
        return None
    result = c.playbooks.dry_run(ws, newest.source, since_ms).as_dict()
    total = sum(result["variants"].values()) or 1
    result["shares"] = {v: n / total for v, n in result["variants"].items()}
    return result


def _experiment(
    c: Container, ws: str, playbook_id: str, firings: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Per variant: its firings and their statuses, then the room's results (profiles
    assigned, conversions to the outcome event, uplift over the control, Fisher's p-value)."""
    try:
        result = c.playbooks.experiment(ws, playbook_id)
    except CrmosError:
        return None  # no experiment, or a file valid when published that no longer validates
    rows = []
    for variant in result.variants:
        mine = [f for f in firings if f.get("variant") == variant.name]
        statuses = Counter(str(f["status"]) for f in mine)
        rows.append({**variant.as_dict(), "firings": len(mine), "statuses": statuses})
    return {"control": result.control, "outcome": result.outcome, "variants": rows}


def _moment(text: str) -> int | None:
    """A day (``YYYY-MM-DD``) or a minute (``YYYY-MM-DDTHH:MM``), UTC, as epoch ms."""
    if not text:
        return None
    for form in ("%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(text, form).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            continue
    problem = Problem("at", "a day (2026-03-01) or a minute (2026-03-01T09:30), UTC")
    raise ValidationError("malformed moment", [problem])
