"""The validators a workspace configured, applied to every message at intake (a port of ingest).

A bare field name (``cpf``) is checked in ``traits``, ``context.traits`` and ``properties``; a
dotted path (``properties.buyer.cpf``) only there. A refused value names the field and why, and
nothing of the request is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmos.compliance.settings_store import SettingsStore
from crmos.compliance.validators import check
from crmos.core.errors import Problem
from crmos.ingest import Message

_PLACES = ("traits", "context.traits", "properties")


class IntakeValidator:
    """Callable given to :class:`crmos.ingest.IngestService` as one of its ``validators``."""

    def __init__(self, settings: SettingsStore) -> None:
        self._settings = settings

    def __call__(self, workspace_id: str, message: Message) -> list[Problem]:
        """Problems of ``message`` under the workspace's validators (paths within the message)."""
        rules = self._settings.get(workspace_id).validators
        if not rules:
            return []
        problems: list[Problem] = []
        for fieldname, name in rules.items():
            for path, value in _values(message, fieldname):
                if value is None or value == "":
                    continue
                problem = check(name, path, value)
                if problem is not None:
                    problems.append(problem)
        return problems


def _values(message: Message, fieldname: str) -> Iterator[tuple[str, Any]]:
    paths = [fieldname] if "." in fieldname else [f"{p}.{fieldname}" for p in _PLACES]
    for path in paths:
        found, value = _walk(message, path.split("."))
        if found:
            yield path, value


def _walk(message: Message, parts: list[str]) -> tuple[bool, Any]:
    head, rest = parts[0], parts[1:]
    current: Any = getattr(message, head, None)
    for part in rest:
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return current is not None and bool(rest), current
