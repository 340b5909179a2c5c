"""``/api/v1/demo``: what the demo's counterparts received, and the demo's scenarios.

The mail of ``crmos demo``'s SMTP sink (a Maildir under HOME/demo) and the twelve scenarios of
the design as the stored state shows them. `crmos demo`, and `crmos serve` on a store holding
the demo workspace, put this router and the console's scenario list on the app they serve
(:func:`attach`): the demo sits above the API and the console in the layers, so neither can
import it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request

from crmos.api.auth import ReadKey
from crmos.bootstrap import Container
from crmos.demo.scenarios import evaluate, unexpected_runs
from crmos.demo.sinks import read_chat, read_outbox
from crmos.web.pages_demo import Scenario, Scenarios, offer_scenarios

router = APIRouter(prefix="/api/v1/demo", tags=["demo"])


def _c(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


@router.get("/outbox", summary="Mail the demo's SMTP sink received")
def get_outbox(
    request: Request,
    key: ReadKey,
    to: str | None = Query(default=None, description="Only mail to this address."),
) -> dict[str, Any]:
    """Every message the demo's SMTP sink received, oldest first (sender, recipients,
    subject, plain-text body)."""
    mail = read_outbox(_c(request).settings.home / "demo")
    if to is not None:
        mail = [m for m in mail if to.lower() in (a.lower() for a in m["to"])]
    return {"data": mail, "total": len(mail)}


@router.get("/chat", summary="Messages the demo's chat-webhook sink received")
def get_chat(request: Request, key: ReadKey) -> dict[str, Any]:
    """Every chat message posted to the demo's webhooks, oldest first, with its webhook."""
    messages = read_chat(_c(request).settings.home / "demo")
    return {"data": messages, "total": len(messages)}


@router.get("/scenarios", summary="The twelve scenarios of the design, judged from the state")
def get_scenarios(request: Request, key: ReadKey) -> dict[str, Any]:
    """Each scenario: what happened (read from stored state), ok or failed with the reason,
    and where to look."""
    base = str(request.base_url).rstrip("/")
    outcomes = evaluate(_c(request), key.workspace_id, base)
    surprises = unexpected_runs(_c(request), key.workspace_id)
    data = [o.as_dict() for o in outcomes]
    return {"data": data, "ok": sum(o.ok for o in outcomes), "unexpected_runs": surprises}


def attach(app: FastAPI, c: Container, workspace_id: str) -> None:
    """Serve ``/api/v1/demo`` and list the scenarios on the console's start page for the demo
    workspace (links relative to the console)."""
    app.include_router(router)

    def judge(asked: str) -> Scenarios | None:
        if asked != workspace_id:
            return None
        found = [
            Scenario(o.number, o.name, o.ok, o.happened, o.reason, o.console)
            for o in evaluate(c, workspace_id, "")
        ]
        return Scenarios(found, unexpected_runs(c, workspace_id))

    offer_scenarios(app, judge)
