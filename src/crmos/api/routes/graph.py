"""``/api/v1/graph/...``, ``/api/v1/health/graph``: graph queries, manual edges, rules, health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, Field

from crmos.api.auth import AdminKey, ReadKey
from crmos.api.params import (
    EDGE_TYPE_PATTERN,
    NODE_ID_HELP,
    NODE_ID_PATTERN,
    NOT_BLANK_PATTERN,
)
from crmos.api.problems import answers
from crmos.bootstrap import Container
from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import HEALTH_WINDOW_MAX_S
from crmos.graph import (
    NODE_KINDS,
    GraphRuntime,
    add_manual_edge,
    close_edge,
    graph_health,
    health_series,
    neighbourhood,
    parse_rules,
    scores_of,
    shortest_path,
    top_accounts,
)

router = APIRouter(prefix="/api/v1", tags=["graph"])

EdgeTypes = Query(default=None, description="Edge types to follow (repeat); default: all.")
NodeKinds = Query(default=None, description="Node kinds to list (repeat); default: all.")
NodeIdField = Field(max_length=300, pattern=NODE_ID_PATTERN, description=NODE_ID_HELP)
EdgeTypeField = Field(pattern=EDGE_TYPE_PATTERN, description="snake_case edge type")
NodeKind = Literal[NODE_KINDS]  # type: ignore[valid-type]


class NewEdge(BaseModel):
    """An edge asserted by a person."""

    src: Annotated[str, NodeIdField]
    type: Annotated[str, EdgeTypeField]
    dst: Annotated[str, NodeIdField]
    weight: float = Field(default=1.0, gt=0, le=1e6, description="In (0, 1e6].")
    reason: str = Field(
        max_length=500, pattern=NOT_BLANK_PATTERN, description="Why (kept as evidence)."
    )


def _c(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _runtime(c: Container) -> GraphRuntime:
    assert c.graph is not None
    return c.graph


@router.get("/graph/nodes/{node_id}/neighbourhood", summary="k-hop neighbourhood")
def get_neighbourhood(
    request: Request,
    key: ReadKey,
    node_id: Annotated[
        str, Path(max_length=300, pattern=NODE_ID_PATTERN, description=NODE_ID_HELP)
    ],
    hops: int = Query(default=2, ge=1, le=3),
    edge_type: list[Annotated[str, EdgeTypeField]] | None = EdgeTypes,
    node_kind: list[NodeKind] | None = NodeKinds,
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    """The strongest nodes within ``hops``, and the edges (with evidence) that reach them."""
    c = _c(request)
    with c.engine.connect() as conn:
        answer = neighbourhood(
            conn,
            key.workspace_id,
            node_id,
            hops=hops,
            edge_types=edge_type,
            node_kinds=node_kind,
            limit=limit,
            fanout=_runtime(c).settings.fanout,
        )
    return answer.as_dict()


@router.get("/graph/path", summary="Shortest path between two nodes", responses=answers(404))
def get_path(
    request: Request,
    key: ReadKey,
    source: Annotated[str, Query(alias="from", max_length=300, pattern=NODE_ID_PATTERN)],
    target: Annotated[str, Query(alias="to", max_length=300, pattern=NODE_ID_PATTERN)],
    max_hops: int = Query(default=4, ge=1, le=6),
    edge_type: list[Annotated[str, EdgeTypeField]] | None = EdgeTypes,
) -> dict[str, Any]:
    """Fewest hops from one node to another, each edge with its evidence."""
    c = _c(request)
    with c.engine.connect() as conn:
        answer = shortest_path(
            conn,
            key.workspace_id,
            source,
            target,
            max_hops=max_hops,
            edge_types=edge_type,
            fanout=_runtime(c).settings.path_fanout,
        )
    return answer.as_dict()


@router.get("/graph/profiles/{profile_id}/accounts", summary="Top related accounts")
def get_accounts(
    request: Request, key: ReadKey, profile_id: str, limit: int = Query(default=10, ge=1, le=100)
) -> dict[str, Any]:
    """Accounts most strongly related to a profile (within 2 hops), with evidence."""
    c = _c(request)
    with c.engine.connect() as conn:
        answer = top_accounts(
            conn, key.workspace_id, profile_id, limit=limit, fanout=_runtime(c).settings.fanout
        )
    return answer.as_dict()


@router.get("/graph/profiles/{profile_id}/scores", summary="Role and intent confidences")
def get_scores(request: Request, key: ReadKey, profile_id: str) -> dict[str, Any]:
    """Confidences now (decayed), each with the reinforcements that built it."""
    with _c(request).engine.connect() as conn:
        return {"profile_id": profile_id, "data": scores_of(conn, key.workspace_id, profile_id)}


@router.post("/graph/edges", status_code=201, summary="Assert an edge", responses=answers(404))
def post_edge(request: Request, key: AdminKey, body: NewEdge) -> dict[str, Any]:
    """Add (or re-weight) an edge between two existing nodes of the caller's workspace."""
    c = _c(request)
    with c.engine.begin() as conn:
        edge = add_manual_edge(
            conn,
            key.workspace_id,
            body.src,
            body.type,
            body.dst,
            weight=body.weight,
            reason=body.reason,
            actor=f"key:{key.id}",
        )
    return edge.as_dict()


@router.delete("/graph/edges", summary="End an edge", responses=answers(404))
def delete_edge(
    request: Request,
    key: AdminKey,
    src: Annotated[str, Query(max_length=300, pattern=NODE_ID_PATTERN)],
    type: Annotated[str, Query(pattern=EDGE_TYPE_PATTERN)],
    dst: Annotated[str, Query(max_length=300, pattern=NODE_ID_PATTERN)],
    reason: Annotated[str, Query(max_length=500, pattern=NOT_BLANK_PATTERN)],
) -> dict[str, Any]:
    """Set ``valid_to_ms`` on the live edges between two nodes; queries stop following them."""
    with _c(request).engine.begin() as conn:
        closed = close_edge(
            conn, key.workspace_id, src, type, dst, reason=reason, actor=f"key:{key.id}"
        )
    return {"data": [e.as_dict() for e in closed]}


@router.get("/graph/rules", summary="Inference rules in force")
def get_rules(request: Request, key: ReadKey) -> dict[str, Any]:
    """The loaded rules: id, version, kind, description, file."""
    rules = _runtime(_c(request)).rules
    return {
        "data": [
            {"id": r.id, "version": r.version, "kind": r.kind}
            | {"description": r.description, "source": r.source}
            for r in rules
        ]
    }


@router.post("/graph/rules/validate", summary="Check a rule file")
def validate_rules(
    key: ReadKey, body: str = Body(media_type="application/yaml", description="YAML rule file")
) -> dict[str, Any]:
    """``{"valid": true, "rules": [...]}``, or 400 listing every problem with its YAML path."""
    rules = parse_rules(body, "body")
    return {"valid": True, "rules": [r.ref for r in rules]}


@router.get("/health/graph", summary="Graph health figures")
def get_health(
    request: Request,
    key: ReadKey,
    window_s: int | None = Query(default=None, ge=60, le=HEALTH_WINDOW_MAX_S),
) -> dict[str, Any]:
    """Event loss, entity-match conflict and inference failure rates over a window."""
    c = _c(request)
    window = window_s or _runtime(c).settings.health_window_s
    with c.engine.connect() as conn:
        return graph_health(conn, c.log, key.workspace_id, window)


@router.get("/health/graph/series", summary="Graph health rates over time")
def get_health_series(
    request: Request,
    key: ReadKey,
    window_s: int | None = Query(default=None, ge=60, le=HEALTH_WINDOW_MAX_S),
    step_s: int | None = Query(
        default=None, ge=60, le=HEALTH_WINDOW_MAX_S, description="Bucket size, whole minutes."
    ),
) -> dict[str, Any]:
    """The three rates per bucket over a window: ``all``, and per source (event loss, match
    conflicts) or per rule (inference failures); a bucket with nothing counted is null."""
    c = _c(request)
    window = window_s or _runtime(c).settings.health_window_s
    if step_s is not None and window // step_s > 1440:
        problem = Problem("step_s", "at most 1440 buckets per window; choose a larger step")
        raise ValidationError("too many buckets", [problem])
    with c.engine.connect() as conn:
        return health_series(conn, c.log, key.workspace_id, window, step_s)
