"""Edges every event states outright (no rule needed): ``works_at`` from ``group`` calls and
company traits, ``uses_device`` from ``context.device.id``.
"""

from __future__ import annotations

from typing import Any

from crmos.core.event import Event
from crmos.graph.context import Batch, Subject, ms
from crmos.graph.model import node_id
from crmos.graph.pending import Change

RULE = "structure"


def extract(b: Batch, event: Event, s: Subject) -> None:
    """Write the structural nodes and edges of one event."""
    origin, root = s.keys
    for node in {origin, root}:
        if (b.workspace_id, node) not in b.known:
            b.edges.node(node)
            b.known.add((b.workspace_id, node))
    body = event.body
    account, label = _account(event.type, body)
    if account:
        _edge(b, event, s, node_id("account", account), "works_at", label)
    device = ((body.get("context") or {}).get("device") or {}).get("id")
    if isinstance(device, str | int) and str(device).strip():
        _edge(b, event, s, node_id("device", str(device)[:255]), "uses_device", None)


def _account(kind: str, body: dict[str, Any]) -> tuple[str | None, str | None]:
    traits = body.get("traits") or {}
    if kind == "group" and body.get("groupId"):
        return str(body["groupId"])[:255], _str(traits.get("name"))
    company = traits.get("company") if kind == "identify" else None
    if isinstance(company, dict) and company.get("id"):
        return str(company["id"])[:255], _str(company.get("name"))
    if isinstance(company, str) and company.strip():
        return company.strip().lower()[:255], company.strip()
    return None, None


def _str(value: Any) -> str | None:
    return str(value)[:255] if isinstance(value, str) and value.strip() else None


def _edge(b: Batch, event: Event, s: Subject, node: str, type_: str, label: str | None) -> None:
    origin, root = s.keys
    seen = (b.workspace_id, f"{origin}|{type_}|{node}|{label or ''}")
    if seen in b.known:
        return  # already stated: the first events stay its evidence, and nothing else changes
    b.edges.node(node, label)
    b.known.add(seen)
    ends = (origin, root, node, node)
    b.edges.add([Change(ends, type_, 1.0, "max", ms(event), RULE, (event.seq or 0,))])
