"""The builder's model of a playbook file (what the console's canvas draws), and the lossless
conversion both ways.

A model is a header (the top-level keys that are not drawn), the file's leading comment, nodes
and edges. The trigger pattern becomes a tree of nodes (``event``, ``count``, ``absent``,
``sequence``; ``all``/``any`` join the nodes drawn into them; ``wait`` is an absence that waits
after the pattern drawn into it); then the ``condition``, ``audience``, ``approval`` and
``experiment`` nodes; then one ``step`` node per step, ``after:`` drawn as edges between steps.

YAML -> model -> YAML gives back the same data (tests/unit/test_playbook_canvas.py holds it over
generated files and every shipped example). Whatever the model cannot place is kept verbatim
(a malformed pattern as a ``pattern`` node, an ``after:`` naming no step in its params, unknown
keys in the header) so an invalid file survives the trip and the validator still reports it.
Node positions are layout only: they never reach the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from crmos.core.errors import Problem, ValidationError
from crmos.playbooks.canvas_layout import Edge, Node, place

LEAVES = ("event", "count", "absent", "sequence")
JOINS = ("all", "any")
PATTERN_NODES = (*LEAVES, *JOINS, "wait", "pattern")
FLOW = ("condition", "audience", "approval", "experiment")
STEPS = ("step", "raw_step")
KINDS = (*PATTERN_NODES, *FLOW, *STEPS)
# The order keys are written in; any other key follows, in the header's order.
KEY_ORDER = ("id", "description", "trigger", "audience", "consent", "approval", "experiment")
STEP_ORDER = ("id", "component", "with", "compensate", "after")


@dataclass(frozen=True, slots=True)
class Model:
    """A playbook as the builder holds it."""

    header: dict[str, Any]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    comment: str = ""
    trigger_extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the console draws and posts back)."""
        return {
            "header": self.header,
            "comment": self.comment,
            "trigger_extra": self.trigger_extra,
            "nodes": [n.as_dict() for n in self.nodes],
            "edges": [{"source": e.source, "target": e.target} for e in self.edges],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        """The model posted back by the console (validated by the API's pydantic body)."""
        nodes = tuple(
            Node(
                str(n["id"]),
                str(n["kind"]),
                dict(n.get("params") or {}),
                round(n.get("x", 0)),
                round(n.get("y", 0)),
            )
            for n in data.get("nodes", [])
        )
        edges = tuple(Edge(str(e["source"]), str(e["target"])) for e in data.get("edges", []))
        return cls(
            dict(data.get("header") or {}),
            nodes,
            edges,
            str(data.get("comment") or ""),
            dict(data.get("trigger_extra") or {}),
        )


class _Reader:
    """Turns a file's data into nodes and edges."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []

    def add(self, kind: str, params: dict[str, Any]) -> str:
        node_id = f"n{len(self.nodes) + 1}"
        self.nodes.append(Node(node_id, kind, params))
        return node_id

    def link(self, source: str | None, target: str) -> None:
        if source is not None:
            self.edges.append(Edge(source, target))

    def pattern(self, raw: Any) -> str:
        if isinstance(raw, Mapping) and len(raw) == 1:
            kind, body = next(iter(raw.items()))
            if kind in JOINS and isinstance(body, list) and body:
                node = self.add(str(kind), {})
                for part in body:
                    self.link(self.pattern(part), node)
                return node
            if kind == "absent" and isinstance(body, Mapping) and "after" in body:
                node = self.add("wait", {k: v for k, v in body.items() if k != "after"})
                self.link(self.pattern(body["after"]), node)
                return node
            if kind in LEAVES and isinstance(body, Mapping):
                return self.add(str(kind), dict(body))
        return self.add("pattern", {"raw": raw})

    def steps(self, raw: list[Any], head: str | None) -> None:
        ids = [s.get("id") for s in raw if isinstance(s, Mapping)]
        nodes: dict[str, str] = {}
        pending: list[tuple[str, list[str]]] = []
        for step in raw:
            if not isinstance(step, Mapping):
                self.add("raw_step", {"raw": step})
                continue
            params = dict(step)
            after = params.get("after")
            names = _drawable_after(after, ids)
            if names:
                del params["after"]
            node = self.add("step", params)
            if isinstance(step.get("id"), str) and ids.count(step["id"]) == 1:
                nodes[step["id"]] = node
            pending.append((node, names))
        for node, after in pending:
            if not after:
                self.link(head, node)
            for name in after:
                self.link(nodes[name], node)


def _drawable_after(after: Any, ids: list[Any]) -> list[str]:
    """``after`` as names to draw as edges, when it is distinct names of steps that exist once
    each; otherwise nothing (it stays in the step's params as written)."""
    if not isinstance(after, list) or not after or len(set(map(repr, after))) != len(after):
        return []
    if all(isinstance(a, str) and ids.count(a) == 1 for a in after):
        return [str(a) for a in after]
    return []


def from_source(text: str) -> Model:
    """The model of a playbook file; :class:`ValidationError` if it is not a YAML mapping."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = Problem("(file)", f"invalid YAML: {exc}")
        raise ValidationError("cannot draw the file", [problem]) from exc
    if not isinstance(raw, Mapping):
        problem = Problem("(file)", "a playbook is a YAML mapping (id, trigger, steps …)")
        raise ValidationError("cannot draw the file", [problem])
    return from_data(raw, leading_comment(text))


def from_data(raw: Mapping[str, Any], comment: str = "") -> Model:
    """The model of a playbook's parsed data."""
    reader = _Reader()
    header: dict[str, Any] = {}
    trigger_extra: dict[str, Any] = {}
    head: str | None = None
    trigger = raw.get("trigger")
    drawn = isinstance(trigger, Mapping) and "pattern" in trigger
    if isinstance(trigger, Mapping) and drawn:
        head = reader.pattern(trigger["pattern"])
        if "condition" in trigger:
            node = reader.add("condition", {"cel": trigger["condition"]})
            reader.link(head, node)
            head = node
        trigger_extra = {k: v for k, v in trigger.items() if k not in ("pattern", "condition")}
    for key, value in raw.items():
        if key == "trigger" and drawn:
            continue
        if key == "audience" and (value is None or isinstance(value, str)):
            node = reader.add("audience", {"cel": value})
        elif key in ("approval", "experiment") and isinstance(value, Mapping):
            node = reader.add(str(key), dict(value))
        elif key == "steps" and isinstance(value, list) and value:
            continue
        else:
            header[str(key)] = value
            continue
        reader.link(head, node)
        head = node
    if isinstance(raw.get("steps"), list) and raw["steps"]:
        reader.steps(raw["steps"], head)
    model = Model(header, tuple(reader.nodes), tuple(reader.edges), comment, trigger_extra)
    return layout(model)


def leading_comment(text: str) -> str:
    """The comment lines a file starts with (kept above the file the builder writes)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A model written as a file: the YAML text and each node's path in it."""

    source: str
    data: dict[str, Any]
    paths: dict[str, str]


def to_data(model: Model) -> Rendered:
    """The file's data of a model; :class:`ValidationError` (with node ids) when the drawing
    is not one playbook (two unconnected trigger trees, a loop, two audiences …)."""
    writer = _Writer(model)
    data = writer.write()
    if writer.problems:
        raise ValidationError("the drawing is not one playbook", writer.problems)
    return Rendered(dump(data, model.comment), data, writer.paths)


def to_source(model: Model) -> str:
    """The playbook YAML of a model."""
    return to_data(model).source


def dump(data: Mapping[str, Any], comment: str = "") -> str:
    """YAML text of a playbook's data, keys in the documented order, comment on top."""
    text = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)
    return f"{comment}\n{text}" if comment else text


class _Writer:
    """Turns nodes and edges back into a file's data."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.nodes = {n.id: n for n in model.nodes}
        self.into: dict[str, list[str]] = {n.id: [] for n in model.nodes}
        self.out: dict[str, list[str]] = {n.id: [] for n in model.nodes}
        for e in model.edges:
            if e.source in self.nodes and e.target in self.nodes:
                self.into[e.target].append(e.source)
                self.out[e.source].append(e.target)
        self.problems: list[Problem] = []
        self.paths: dict[str, str] = {}

    def of_kind(self, *kinds: str) -> list[Node]:
        return [n for n in self.model.nodes if n.kind in kinds]

    def single(self, kind: str) -> Node | None:
        found = self.of_kind(kind)
        for extra in found[1:]:
            self.problems.append(Problem(extra.id, f"a playbook has one {kind}; remove this one"))
        return found[0] if found else None

    def write(self) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        trigger = self.trigger()
        if trigger:
            parts["trigger"] = trigger
        audience = self.single("audience")
        if audience is not None:
            parts["audience"] = audience.params.get("cel")
            self.paths[audience.id] = "audience"
        for kind in ("approval", "experiment"):
            node = self.single(kind)
            if node is not None:
                parts[kind] = dict(node.params)
                self.paths[node.id] = kind
        steps = self.steps()
        data: dict[str, Any] = {}
        for key in KEY_ORDER:
            if key in parts:
                data[key] = parts.pop(key)
            elif key in self.model.header:
                data[key] = self.model.header[key]
        for key, value in self.model.header.items():
            data.setdefault(key, value)
        if steps is not None:
            data["steps"] = steps
        return data

    def trigger(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        roots = [n for n in self.of_kind(*PATTERN_NODES) if not self._feeds_pattern(n)]
        if len(roots) > 1:
            for extra in roots[1:]:
                message = "this trigger is not connected: join the triggers with an all/any node"
                self.problems.append(Problem(extra.id, message))
        elif not roots and self.of_kind(*PATTERN_NODES):
            self.problems.append(Problem("trigger.pattern", "the trigger nodes form a loop"))
        if roots:
            out["pattern"] = self.pattern(roots[0], "trigger.pattern", set())
        condition = self.single("condition")
        if condition is not None:
            out["condition"] = condition.params.get("cel")
            self.paths[condition.id] = "trigger.condition"
        out.update(self.model.trigger_extra)
        return out

    def _feeds_pattern(self, node: Node) -> bool:
        return any(self.nodes[t].kind in PATTERN_NODES for t in self.out[node.id])

    def pattern(self, node: Node, path: str, seen: set[str]) -> Any:
        if node.id in seen:
            self.problems.append(Problem(node.id, "the trigger nodes form a loop"))
            return {}
        seen = seen | {node.id}
        inputs = [self.nodes[s] for s in self.into[node.id] if self.nodes[s].kind in PATTERN_NODES]
        if node.kind == "pattern":
            self.paths[node.id] = path
            return node.params.get("raw")
        if node.kind in JOINS:
            self.paths[node.id] = f"{path}.{node.kind}"
            if not inputs:
                self.problems.append(Problem(node.id, f"connect the triggers '{node.kind}' joins"))
            parts = [
                self.pattern(p, f"{path}.{node.kind}[{i}]", seen) for i, p in enumerate(inputs)
            ]
            return {node.kind: parts}
        kind = "absent" if node.kind == "wait" else node.kind
        self.paths[node.id] = f"{path}.{kind}"
        body = dict(node.params)
        if node.kind == "wait" and inputs:
            if len(inputs) > 1:
                self.problems.append(
                    Problem(node.id, "a wait follows one trigger; join them first")
                )
            body["after"] = self.pattern(inputs[0], f"{path}.absent.after", seen)
        elif inputs:
            self.problems.append(Problem(node.id, f"a {node.kind} trigger takes no input"))
        return {kind: body}

    def steps(self) -> list[Any] | None:
        nodes = self.of_kind(*STEPS)
        if not nodes:
            return None
        out: list[Any] = []
        for i, node in enumerate(nodes):
            self.paths[node.id] = f"steps[{i}]"
            if node.kind == "raw_step":
                out.append(node.params.get("raw"))
                continue
            step = dict(node.params)
            drawn = [self._step_id(self.nodes[s]) for s in self.into[node.id]]
            after = [a for a in drawn if a is not None]
            if after:
                kept = step.get("after")
                step["after"] = [*(kept if isinstance(kept, list) else []), *after]
            out.append({k: step[k] for k in _ordered(step, STEP_ORDER)})
        return out

    def _step_id(self, node: Node) -> str | None:
        if node.kind != "step":
            return None
        step_id = node.params.get("id")
        return step_id if isinstance(step_id, str) else f"(unnamed step {node.id})"


def _ordered(data: Mapping[str, Any], order: tuple[str, ...]) -> list[str]:
    return [k for k in order if k in data] + [k for k in data if k not in order]


def layout(model: Model) -> Model:
    """The model with its nodes placed left to right by depth (see :func:`place`)."""
    return replace(model, nodes=place(model.nodes, model.edges))


def node_of(path: str, paths: Mapping[str, str]) -> str | None:
    """The node a problem's YAML path falls in (the longest node path it starts with)."""
    best: tuple[int, str | None] = (0, None)
    for node_id, prefix in paths.items():
        inside = path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))
        if inside and len(prefix) > best[0]:
            best = (len(prefix), node_id)
    return best[1]
