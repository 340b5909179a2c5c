"""The visual playbook builder: a canvas (Drawflow, vendored) with a palette of triggers,
conditions, branches, approvals, waits and the registry's components.

The page draws the model the server gives it and posts it back: the conversion between the
drawing and the YAML, the validation, the dry-run, publish, the diff node by node and the
rollback are the playbooks room's (``playbooks.canvas`` and ``playbooks.builder``), reached
here with the session's key, as ``/api/v1/playbook-builder`` reaches them with an API key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from crmos.api.params import DURATION_PATTERN
from crmos.api.problems import problem_response, status_of
from crmos.api.routes.builder import ModelIn, SourceIn, seen_fields
from crmos.core.errors import CrmosError, NotFound, ValidationError
from crmos.playbooks import Playbooks, builder
from crmos.playbooks.canvas import to_source
from crmos.triggers import parse_duration
from crmos.web.console import HEADERS, ConsoleRoute, Viewer, actor, actor_any, render, state, viewer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Ref = Annotated[str, Query(min_length=6, max_length=64)]

# Every string the page's script shows, translated on the server (the catalogs stay one).
SCRIPT_TEXT = (
    "Edit",
    "Remove node",
    "Connect to",
    "Connect",
    "Step id",
    "Compensate on a later failure",
    "Add to the condition",
    "Field",
    "Value",
    "No problems: the file is valid.",
    "added",
    "changed",
    "removed",
    "unchanged",
    "Reads",
    "May call",
    "Impact",
    "(none)",
    "JSON",
    "Select a node to edit its parameters.",
    "Problems: {count}",
    "Nothing to roll back to.",
    "Dry-run",
    "Events replayed",
    "Would fire",
    "Per variant",
    "Who would fire",
)


class PublishIn(BaseModel):
    """A drawing to publish."""

    model: ModelIn
    comment: str = Field(default="", max_length=2000)


class DryRunIn(BaseModel):
    """A drawing to replay stored events through."""

    model: ModelIn
    since: str = Field(default="30d", pattern=DURATION_PATTERN)


class RollbackIn(BaseModel):
    """The playbook to put back its previous version."""

    playbook_id: str = Field(min_length=1, max_length=100)


def _playbooks(request: Request) -> Playbooks:
    return state(request).container.playbooks


@router.get("/builder")
def builder_page(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    playbook: Annotated[str, Query(max_length=100)] = "",
    published: Annotated[str, Query(max_length=64)] = "",
    rolled: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """An empty canvas, or the version in force of ``playbook`` (its newest when stopped)."""
    service = _playbooks(request)
    history = service.history(who.workspace_id, playbook) if playbook else []
    source = ""
    if history:
        try:
            source = service.in_force(who.workspace_id, playbook).source
        except NotFound:
            source = history[-1].source
    t = who.t
    palette = builder.palette(service.registry, service.market.approved(who.workspace_id))
    for item in palette["nodes"]:
        item["label"] = t.gettext(item["label"])
    context = {
        "page": "builder",
        "published": published[:12],
        "rolled": rolled[:12],
        "playbook_id": playbook,
        "history": list(reversed(history)),
        "source": source,
        "palette": palette,
        "script_text": {s: t.gettext(s) for s in SCRIPT_TEXT},
        "kinds": {k: t.gettext(v) for k, v in KIND_NAMES.items()},
    }
    return render(request, "builder.html.j2", t, context, who=who)


KIND_NAMES = {
    "event": "Event",
    "count": "Count in a window",
    "absent": "Absence",
    "sequence": "Sequence",
    "wait": "Wait",
    "all": "All of",
    "any": "Any of",
    "condition": "Condition",
    "audience": "Audience",
    "approval": "Approval",
    "experiment": "Experiment split",
    "step": "Step",
    "raw_step": "Step (as written)",
    "pattern": "Pattern (as written)",
}


def _json(work: Callable[[], Any]) -> Any:
    """The work's answer, or a problem+json (the page's script reads both)."""
    try:
        return work()
    except CrmosError as exc:
        problems = exc.problems if isinstance(exc, ValidationError) else None
        return problem_response(status_of(exc), exc.code, exc.message, problems, headers=HEADERS)


@router.post("/builder/api/model")
def model(request: Request, who: Annotated[Viewer, Depends(actor_any)], body: SourceIn) -> Any:
    """A file as a drawing, with its check."""
    return _json(lambda: builder.model_of(body.source, _playbooks(request).validate))


@router.post("/builder/api/check")
def check(request: Request, who: Annotated[Viewer, Depends(actor_any)], body: ModelIn) -> Any:
    """The YAML a drawing writes, and every problem placed on its node."""
    return _json(lambda: builder.check(body.model(), _playbooks(request).validate))


@router.get("/builder/api/fields")
def fields(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Any:
    """Field names seen in the workspace's events and traits (CEL completion)."""
    return _json(lambda: seen_fields(request, who.workspace_id))


@router.post("/builder/api/dry-run")
def dry_run(request: Request, who: Annotated[Viewer, Depends(actor_any)], body: DryRunIn) -> Any:
    """Who would have fired, per variant, over the events stored in the window."""
    service = _playbooks(request)

    def work() -> Any:
        since_ms = service.clock() - parse_duration(body.since)
        source = to_source(body.model.model())
        return service.dry_run(who.workspace_id, source, since_ms).as_dict()

    return _json(work)


@router.post("/builder/api/publish")
def publish(request: Request, who: Annotated[Viewer, Depends(actor)], body: PublishIn) -> Any:
    """Put the drawing in force as a new version, with its message."""
    service = _playbooks(request)

    def work() -> Any:
        source = to_source(body.model.model())
        return service.publish(who.workspace_id, source, who.key.name, body.comment).as_dict()

    return _json(work)


@router.get("/builder/api/diff")
def diff(request: Request, who: Annotated[Viewer, Depends(viewer)], older: Ref, newer: Ref) -> Any:
    """Two versions node by node."""
    service = _playbooks(request)

    def work() -> Any:
        old = service.version(who.workspace_id, older)
        new = service.version(who.workspace_id, newer)
        return builder.diff(old.source, new.source)

    return _json(work)


@router.post("/builder/api/rollback")
def rollback(request: Request, who: Annotated[Viewer, Depends(actor)], body: RollbackIn) -> Any:
    """Put back the previous version."""
    service = _playbooks(request)
    return _json(
        lambda: service.rollback(who.workspace_id, body.playbook_id, who.key.name).as_dict()
    )
