"""The graph's values: node ids (``kind:key``), edge views with their evidence, query answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmos.core.errors import Problem, ValidationError

NODE_KINDS = ("profile", "account", "device", "occasion")
# Edge types whose two ends play the same part: stored once, with the smaller id as source.
SYMMETRIC = frozenset({"co_attended", "potential_partner", "related"})


def node_id(kind: str, key: str) -> str:
    """``kind:key``, the id of a node (its kind is readable from the id alone)."""
    return f"{kind}:{key.strip()}"


def kind_of(node: str) -> str:
    """The kind part of a node id; ``ValidationError`` for an id without a known kind."""
    kind, sep, key = node.partition(":")
    if not sep or not key or kind not in NODE_KINDS:
        valid = ", ".join(f"{k}:<key>" for k in NODE_KINDS)
        raise ValidationError("malformed node id", [Problem("node", f"'{node}'; use {valid}")])
    return kind


def ordered(src: str, type_: str, dst: str) -> tuple[str, str]:
    """The stored direction of an edge: symmetric types keep the smaller id first."""
    if type_ in SYMMETRIC and dst < src:
        return dst, src
    return src, dst


@dataclass(frozen=True, slots=True)
class EdgeView:
    """One edge as a query answers it: ends, type, weight, validity and evidence."""

    src: str
    type: str
    dst: str
    weight: float
    valid_from_ms: int
    valid_to_ms: int | None
    rule: str
    evidence: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "src": self.src,
            "type": self.type,
            "dst": self.dst,
            "weight": round(self.weight, 6),
            "valid_from_ms": self.valid_from_ms,
            "valid_to_ms": self.valid_to_ms,
            "rule": self.rule,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A node reached by a query: how many hops away and its score (sum of path weights)."""

    node: str
    hops: int
    score: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        kind = self.node.partition(":")[0]
        return {"node": self.node, "kind": kind, "hops": self.hops, "score": round(self.score, 6)}


@dataclass(frozen=True, slots=True)
class Answer:
    """A query's nodes and the edges that connect them, each with its evidence."""

    start: str
    nodes: list[Neighbour]
    edges: list[EdgeView] = field(default_factory=list)
    path: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {
            "start": self.start,
            "nodes": [n.as_dict() for n in self.nodes],
            "edges": [e.as_dict() for e in self.edges],
        }
        if self.path is not None:
            out["path"] = self.path
        return out
