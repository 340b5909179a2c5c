"""``/api/v1/playbooks``: validate, publish, show (now or at a moment), diff, roll back,
dry-run; firings and their approval; the components and the JSON Schema.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from crmos.api.auth import AdminKey, ReadKey
from crmos.api.params import DURATION_PATTERN, Moment, epoch_ms
from crmos.api.problems import answers
from crmos.playbooks import Playbooks, json_schema
from crmos.triggers import parse_duration

router = APIRouter(prefix="/api/v1", tags=["playbooks"])


def _playbooks(request: Request) -> Playbooks:
    playbooks: Playbooks = request.app.state.container.playbooks
    return playbooks


class PublishIn(BaseModel):
    """A playbook file to put in force."""

    source: str = Field(min_length=1, description="The playbook YAML.")
    comment: str = Field(default="", max_length=2000, description="Why this version.")


class SourceIn(BaseModel):
    """A playbook file to check or dry-run."""

    source: str = Field(min_length=1, description="The playbook YAML.")


@router.get("/playbooks/schema", summary="The playbook JSON Schema")
def schema() -> dict[str, Any]:
    """The published JSON Schema of playbook files."""
    return json_schema()


@router.get("/playbooks/components", summary="Registered components")
def components(request: Request, key: ReadKey) -> list[dict[str, Any]]:
    """Every component with the profile fields it reads and the hosts it may call."""
    registry = _playbooks(request).registry
    out = []
    for name in registry.names():
        c = registry.get(name)
        out.append(
            {
                "name": name,
                "description": c.description,
                "reads": list(c.reads),
                "hosts": list(c.hosts),
                "impact": c.impact,
            }
        )
    return out


@router.post("/playbooks/validate", summary="Validate a playbook file")
def validate(request: Request, key: ReadKey, body: SourceIn) -> dict[str, Any]:
    """``ok`` with the content hash, or 400 listing every problem with its YAML path."""
    playbook = _playbooks(request).validate(body.source)
    return {"ok": True, "id": playbook.id, "hash": playbook.hash}


@router.post("/playbooks", status_code=201, summary="Publish a version", responses=answers(409))
def publish(request: Request, key: AdminKey, body: PublishIn) -> dict[str, Any]:
    """Validate and put in force an immutable snapshot of the file."""
    version = _playbooks(request).publish(key.workspace_id, body.source, key.name, body.comment)
    return version.as_dict()


@router.get("/playbooks", summary="Playbooks in force")
def list_playbooks(request: Request, key: ReadKey) -> list[dict[str, Any]]:
    """The playbooks in force now."""
    return [v.as_dict() for v in _playbooks(request).in_force_all(key.workspace_id)]


@router.get("/playbooks/{playbook_id}", summary="The version in force (now or at a moment)")
def show(
    request: Request,
    key: ReadKey,
    playbook_id: str,
    at: Annotated[Moment | None, Query()] = None,
) -> dict[str, Any]:
    """The version in force at ``at`` (default now), with its file."""
    return _playbooks(request).in_force(key.workspace_id, playbook_id, epoch_ms(at)).as_dict(True)


@router.get("/playbooks/{playbook_id}/versions", summary="Every published version")
def versions(request: Request, key: ReadKey, playbook_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    return [v.as_dict() for v in _playbooks(request).history(key.workspace_id, playbook_id)]


@router.get("/playbooks/-/diff", summary="Diff two versions", responses=answers(404))
def diff(
    request: Request,
    key: ReadKey,
    older: str = Query(min_length=6, max_length=64),
    newer: str = Query(min_length=6, max_length=64),
) -> dict[str, str]:
    """A unified diff of two versions by hash (or a prefix of at least 6 characters)."""
    return {"diff": _playbooks(request).diff(key.workspace_id, older, newer)}


@router.post(
    "/playbooks/{playbook_id}/rollback",
    summary="Put back the previous version",
    responses=answers(400, 409),
)
def rollback(request: Request, key: AdminKey, playbook_id: str) -> dict[str, Any]:
    """The previous version is in force again (an activation; no version is changed); 400 when
    it uses a component that is not approved now."""
    return _playbooks(request).rollback(key.workspace_id, playbook_id, key.name).as_dict()


@router.post("/playbooks/dry-run", summary="Replay stored events through a playbook")
def dry_run(
    request: Request,
    key: ReadKey,
    body: SourceIn,
    since: Annotated[
        str, Query(pattern=DURATION_PATTERN, description="How far back: 30d, 12h …")
    ] = "30d",
) -> dict[str, Any]:
    """How often it would have fired, for whom, per variant; nothing is written."""
    playbooks = _playbooks(request)
    since_ms = playbooks.clock() - parse_duration(since)
    return playbooks.dry_run(key.workspace_id, body.source, since_ms).as_dict()


@router.get("/playbook-firings", summary="Recent firings")
def firings(
    request: Request,
    key: ReadKey,
    playbook_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Newest first: who, which version, what happened, which run."""
    return _playbooks(request).firings(key.workspace_id, playbook_id, limit)


@router.post(
    "/playbook-firings/{firing_id}/approve", summary="Approve a firing", responses=answers(409)
)
def approve(request: Request, key: AdminKey, firing_id: str) -> dict[str, Any]:
    """A firing that awaits approval starts its run."""
    return _playbooks(request).approve(key.workspace_id, firing_id, key.name)
