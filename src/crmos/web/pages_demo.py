"""The demo workspace's start page: the twelve scenarios of the design, each ok or failed with
its reason and a link to the console page that shows it, above today's intake.

The scenarios are judged by ``crmos.demo``, which sits above the console in the layers, so the
console never imports it: ``crmos demo``, and ``crmos serve`` on a store that holds the demo
workspace, hand the app a :data:`ScenarioSource` when they serve (:func:`offer_scenarios`).
Without one (a store without the demo world), or for any other workspace, ``/`` is the intake
page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from crmos.web import pages_intake
from crmos.web.console import ConsoleRoute, Viewer, is_htmx, render, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario as the stored state shows it, with the console path that shows it."""

    number: int
    name: str
    ok: bool
    happened: str
    reason: str
    link: str


@dataclass(frozen=True, slots=True)
class Scenarios:
    """The judged list, and the runs that ended badly although no scenario expects it."""

    items: list[Scenario]
    unexpected_runs: list[str] = field(default_factory=list)


ScenarioSource = Callable[[str], Scenarios | None]
"""Judges the scenarios of a workspace; ``None`` when it is not the demo workspace."""


def offer_scenarios(app: FastAPI, source: ScenarioSource) -> None:
    """Make ``/`` list the demo's scenarios for the workspace ``source`` judges."""
    app.state.demo_scenarios = source


@router.get("/")
def start(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """The demo's scenarios for the demo workspace, else (and for htmx's polls of the intake
    block) the intake page."""
    source: ScenarioSource | None = getattr(request.app.state, "demo_scenarios", None)
    judged = None if source is None or is_htmx(request) else source(who.workspace_id)
    if judged is None:
        return pages_intake.home(request, who)
    context = {
        "scenarios": judged.items,
        "ok": sum(s.ok for s in judged.items),
        "unexpected_runs": judged.unexpected_runs,
        "page": "home",
    }
    return render(request, "demo_scenarios.html.j2", who.t, context, who=who)
