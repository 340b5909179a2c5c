"""The canvas's boxes and connections, and where the builder draws them when a file is opened:
left to right by depth (the longest path from a node with no input), one row per node in a
column. Positions are layout only; they never reach the file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

COLUMN_PX, ROW_PX, MARGIN_PX = 250, 130, 40


@dataclass(frozen=True, slots=True)
class Node:
    """One box on the canvas: its kind, its params (the file's mapping as written) and where
    it is drawn."""

    id: str
    kind: str
    params: dict[str, Any]
    x: int = 0
    y: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "kind": self.kind, "params": self.params, "x": self.x, "y": self.y}


@dataclass(frozen=True, slots=True)
class Edge:
    """A connection: ``source`` feeds ``target``."""

    source: str
    target: str


def place(nodes: tuple[Node, ...], edges: Iterable[Edge]) -> tuple[Node, ...]:
    """``nodes`` with their x and y set: column by depth, row by order within the column."""
    into: dict[str, list[str]] = {n.id: [] for n in nodes}
    for e in edges:
        if e.target in into and e.source in into:
            into[e.target].append(e.source)
    depth: dict[str, int] = {}

    def depth_of(node_id: str, seen: frozenset[str]) -> int:
        if node_id not in depth:
            parents = [p for p in into[node_id] if p not in seen]
            depth[node_id] = 1 + max((depth_of(p, seen | {node_id}) for p in parents), default=-1)
        return depth[node_id]

    rows: dict[int, int] = {}
    placed = []
    for node in nodes:
        column = depth_of(node.id, frozenset())
        row = rows.get(column, 0)
        rows[column] = row + 1
        placed.append(replace(node, x=MARGIN_PX + column * COLUMN_PX, y=MARGIN_PX + row * ROW_PX))
    return tuple(placed)
