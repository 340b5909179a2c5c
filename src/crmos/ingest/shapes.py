"""The shapes of the events a workspace has sent: for each event name, the dotted fields seen
and their JSON types (the builder completes CEL field names from them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmos.ingest.reader import EventReader
from crmos.store import EventQuery

# The parts of a Segment message a condition reads as ``event.<part>``.
PARTS = ("properties", "traits", "context")
MAX_DEPTH = 4


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "null"


def field_types(value: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Every dotted field of ``value`` under ``prefix`` with its JSON type (nested objects
    down to a few levels; a list is one field)."""
    out: dict[str, str] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        out[path] = json_type(item)
        if isinstance(item, Mapping) and depth < MAX_DEPTH:
            out |= field_types(item, f"{path}.", depth + 1)
    return out


def event_shapes(reader: EventReader, workspace_id: str, sample: int = 1000) -> dict[str, Any]:
    """For the newest ``sample`` events of the workspace: per event name (the type for events
    without one) its Segment type, how often it was seen, and its fields with their types."""
    shapes: dict[str, dict[str, Any]] = {}
    query = EventQuery(workspace_id, limit=sample, newest_first=True)
    for event in reader.events(query):
        name = event.name or event.type
        shape = shapes.setdefault(name, {"type": event.type, "seen": 0, "fields": {}})
        shape["seen"] += 1
        for part in PARTS:
            body = event.body.get(part)
            if isinstance(body, Mapping):
                shape["fields"] |= field_types(body, f"{part}.")
    return dict(sorted(shapes.items()))
