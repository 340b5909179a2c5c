"""What the visual builder asks of the playbooks room: the palette (trigger kinds, flow nodes
and the registry's components, each with the JSON Schema its form is generated from), the
check of a drawing (the same validator as ``crmos playbooks validate``, its problems placed on
nodes), the model of a file, and a diff of two versions node by node.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson

from crmos.core.errors import Problem, ValidationError
from crmos.playbooks.canvas import Model, from_source, node_of, to_data
from crmos.playbooks.canvas_layout import Node
from crmos.playbooks.components import ComponentRegistry
from crmos.playbooks.spec import ApprovalSpec, ExperimentSpec, Playbook
from crmos.triggers import EVENT_TYPES

Validate = Callable[[str], Playbook]

_DURATION = {"type": "string", "pattern": r"^\d+(ms|s|m|h|d|w)$", "examples": ["3d", "12h"]}
_CEL = {"type": "string", "format": "cel"}
_SELECTOR: dict[str, Any] = {
    "event": {"type": "string", "title": "Event name", "format": "event-name"},
    "type": {"type": "string", "title": "Segment type", "enum": list(EVENT_TYPES)},
    "where": {**_CEL, "title": "Where (CEL over the event)"},
}


def _object(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": dict(properties), "required": list(required)}


_WINDOW = {"within": {**_DURATION, "title": "Within"}}
TRIGGERS: dict[str, dict[str, Any]] = {
    "event": _object(_SELECTOR),
    "count": _object(
        {
            **_SELECTOR,
            "at_least": {"type": "integer", "minimum": 1, "title": "At least"},
            **_WINDOW,
        },
        ("at_least", "within"),
    ),
    "absent": _object({**_SELECTOR, **_WINDOW}, ("within",)),
    "wait": _object({**_SELECTOR, **_WINDOW}, ("within",)),
    "sequence": _object(
        {"steps": {"type": "array", "items": _object(_SELECTOR), "title": "Steps"}, **_WINDOW},
        ("steps", "within"),
    ),
    "all": _object({}),
    "any": _object({}),
}
CEL_NODE = _object({"cel": {**_CEL, "title": "Condition (CEL)"}}, ("cel",))
GRAPH_EXAMPLE = (
    "has(graph.scores.technical_decision_maker) && graph.scores.technical_decision_maker > 0.3"
)


def palette(registry: ComponentRegistry, usable: Collection[str] | None = None) -> dict[str, Any]:
    """Every kind of node, with the params a new one starts with and its JSON Schema; of the
    components only those in ``usable`` (the approved ones: nothing else can be published)."""
    items = [
        _item("trigger", "event", "Event", {"event": ""}),
        _item("trigger", "count", "Count in a window", {"at_least": 3, "within": "3d"}),
        _item("trigger", "absent", "Absence", {"event": "", "within": "3d"}),
        _item("trigger", "sequence", "Sequence", {"steps": [], "within": "1h"}),
        _item("trigger", "condition", "Graph condition", {"cel": GRAPH_EXAMPLE}, CEL_NODE),
        _item(
            "trigger",
            "audience",
            "Audience entry",
            {"cel": "flags.marketing_suppressed == false"},
            CEL_NODE,
        ),
        _item("condition", "condition", "Condition", {"cel": ""}, CEL_NODE),
        _item("flow", "all", "Branch: all of", {}),
        _item("flow", "any", "Branch: any of", {}),
        _item(
            "flow", "experiment", "Branch: experiment split", _EXPERIMENT, _schema(ExperimentSpec)
        ),
        _item(
            "flow",
            "approval",
            "Approval",
            {"policy": "required_above", "impact": "low"},
            _schema(ApprovalSpec),
        ),
        _item("flow", "wait", "Wait (no event for a while)", {"event": "", "within": "1d"}),
    ]
    components = []
    for name in registry.names():
        if usable is not None and name not in usable:
            continue
        c = registry.get(name)
        components.append(
            {
                "group": "component",
                "kind": "step",
                "component": name,
                "label": name,
                "description": c.description,
                "reads": list(c.reads),
                "hosts": list(c.hosts),
                "impact": c.impact,
                "params": {"id": name.rsplit(".", 1)[-1], "component": name},
                "schema": _schema(c.params),
            }
        )
    return {"nodes": items, "components": components, "event_types": list(EVENT_TYPES)}


_EXPERIMENT = {"variants": {"treatment": 90, "holdout": 10}, "control": "holdout"}


def _item(
    group: str, kind: str, label: str, params: dict[str, Any], schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    schema = schema or TRIGGERS[kind]
    return {"group": group, "kind": kind, "label": label, "params": params, "schema": schema}


def _schema(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    return schema


def check(model: Model, validate: Validate) -> dict[str, Any]:
    """The file a drawing writes and every problem with it, each with its YAML path and the
    node it falls in: first the drawing's own (two loose triggers …), then the validator's."""
    try:
        rendered = to_data(model)
    except ValidationError as exc:
        problems = [_placed(p, p.path, {}) for p in exc.problems]
        return {"ok": False, "source": None, "problems": problems}
    try:
        playbook = validate(rendered.source)
    except ValidationError as exc:
        placed = [_placed(p, node_of(p.path, rendered.paths), rendered.paths) for p in exc.problems]
        return {"ok": False, "source": rendered.source, "problems": placed}
    return {"ok": True, "source": rendered.source, "problems": [], "hash": playbook.hash}


def _placed(problem: Problem, node: str | None, paths: Mapping[str, str]) -> dict[str, Any]:
    return {**problem.as_dict(), "node": node if node in paths or not paths else None}


def model_of(source: str, validate: Validate) -> dict[str, Any]:
    """The drawing of a file, with the check of what it writes back."""
    model = from_source(source)
    return {"model": model.as_dict(), **check(model, validate)}


def diff(older: str, newer: str) -> dict[str, Any]:
    """Node by node: the newer version's drawing with each node ``added``, ``changed`` or
    ``same``, and the older version's nodes that were ``removed``."""
    old_model, new_model = from_source(older), from_source(newer)
    old_keys, new_keys = _keyed(old_model), _keyed(new_model)
    status = {}
    for key, (node_id, signature) in new_keys.items():
        if key not in old_keys:
            status[node_id] = "added"
        else:
            status[node_id] = "same" if old_keys[key][1] == signature else "changed"
    kept = {old_keys[k][0] for k in old_keys.keys() - new_keys.keys()}
    removed = [n.as_dict() for n in old_model.nodes if n.id in kept]
    return {"model": new_model.as_dict(), "status": status, "removed": removed}


def _keyed(model: Model) -> dict[str, tuple[str, bytes]]:
    """Each node under a key that survives renumbering (a step's id, a trigger's YAML path),
    with what it holds and which keys feed it."""
    paths = to_data(model).paths
    by_id = {n.id: n for n in model.nodes}

    def key(node: Node) -> str:
        step_id = node.params.get("id") if node.kind == "step" else None
        return (
            f"step:{step_id}" if isinstance(step_id, str) else f"{node.kind}:{paths.get(node.id)}"
        )

    out = {}
    for node in model.nodes:
        inputs = sorted(key(by_id[e.source]) for e in model.edges if e.target == node.id)
        body = {"kind": node.kind, "params": node.params, "inputs": inputs}
        out[key(node)] = (node.id, orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str))
    return out
