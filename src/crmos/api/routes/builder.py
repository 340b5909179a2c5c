"""``/api/v1/playbook-builder``: what the visual builder uses (the palette, the field names seen,
a file as a drawing, a drawing checked by the playbook validator, a diff node by node), and
``/api/v1/playbooks/{id}/experiment``: the results per variant.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from crmos.api.auth import ReadKey
from crmos.api.problems import answers
from crmos.identity import trait_shapes
from crmos.ingest import event_shapes
from crmos.playbooks import Playbooks, builder
from crmos.playbooks.canvas import KINDS, Model

router = APIRouter(prefix="/api/v1", tags=["playbooks"])
Kind = Literal[KINDS]  # type: ignore[valid-type]
SHAPES_SAMPLE = 1000


def _playbooks(request: Request) -> Playbooks:
    playbooks: Playbooks = request.app.state.container.playbooks
    return playbooks


class NodeIn(BaseModel):
    """One node of a drawing."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: str = Field(min_length=1, max_length=40)
    kind: Kind
    params: dict[str, Any] = {}
    # Numbers, not integers: JSON Schema's integer admits 137.0, which strict pydantic refuses.
    x: float = Field(default=0, ge=-100_000, le=100_000)
    y: float = Field(default=0, ge=-100_000, le=100_000)


class EdgeIn(BaseModel):
    """A connection: ``source`` feeds ``target``."""

    model_config = ConfigDict(strict=True, extra="forbid")

    source: str = Field(max_length=40)
    target: str = Field(max_length=40)


class ModelIn(BaseModel):
    """A drawing: the header (id, description, consent …), nodes and edges."""

    model_config = ConfigDict(strict=True, extra="forbid")

    header: dict[str, Any] = {}
    comment: str = Field(default="", max_length=10_000)
    trigger_extra: dict[str, Any] = {}
    nodes: list[NodeIn] = Field(default=[], max_length=200)
    edges: list[EdgeIn] = Field(default=[], max_length=1000)

    def model(self) -> Model:
        """The room's model of this body."""
        return Model.from_dict(self.model_dump())


class SourceIn(BaseModel):
    """A playbook file."""

    model_config = ConfigDict(strict=True, extra="forbid")

    source: str = Field(min_length=1, max_length=200_000, description="The playbook YAML.")


@router.get("/playbook-builder/palette", summary="The builder's palette")
def palette(request: Request, key: ReadKey) -> dict[str, Any]:
    """Trigger kinds, flow nodes and the approved components, each with the JSON Schema of
    its params."""
    playbooks = _playbooks(request)
    return builder.palette(playbooks.registry, playbooks.market.approved(key.workspace_id))


@router.get("/playbook-builder/fields", summary="Event and trait fields seen")
def fields(request: Request, key: ReadKey) -> dict[str, Any]:
    """The fields conditions can read, from the events and profiles the workspace has."""
    return seen_fields(request, key.workspace_id)


def seen_fields(request: Request, workspace_id: str) -> dict[str, Any]:
    """Per event name its fields, and the traits profiles hold (what CEL completes from)."""
    playbooks = _playbooks(request)
    with playbooks.engine.connect() as conn:
        traits = trait_shapes(conn, workspace_id)
    return {
        "events": event_shapes(playbooks.reader, workspace_id, SHAPES_SAMPLE),
        "traits": traits,
    }


@router.post("/playbook-builder/model", summary="A playbook file as a drawing")
def model(request: Request, key: ReadKey, body: SourceIn) -> dict[str, Any]:
    """The nodes and edges of the file, and the check of the file they write back."""
    return builder.model_of(body.source, _playbooks(request).validate)


@router.post("/playbook-builder/check", summary="Check a drawing")
def check(request: Request, key: ReadKey, body: ModelIn) -> dict[str, Any]:
    """The YAML the drawing writes and every problem, each with its YAML path (as
    ``crmos playbooks validate`` reports it) and the node it falls in."""
    return builder.check(body.model(), _playbooks(request).validate)


@router.get(
    "/playbook-builder/diff", summary="Diff two versions node by node", responses=answers(404)
)
def diff(
    request: Request,
    key: ReadKey,
    older: str = Query(min_length=6, max_length=64),
    newer: str = Query(min_length=6, max_length=64),
) -> dict[str, Any]:
    """The newer version's drawing, each node added, changed or same, and the removed ones."""
    playbooks = _playbooks(request)
    old = playbooks.version(key.workspace_id, older)
    new = playbooks.version(key.workspace_id, newer)
    return builder.diff(old.source, new.source)


@router.get("/playbooks/{playbook_id}/experiment", summary="Experiment results per variant")
def experiment(request: Request, key: ReadKey, playbook_id: str) -> dict[str, Any]:
    """Per variant: profiles assigned, conversions to the outcome event, uplift over the
    control and the p-value of Fisher's exact test."""
    return _playbooks(request).experiment(key.workspace_id, playbook_id).as_dict()
