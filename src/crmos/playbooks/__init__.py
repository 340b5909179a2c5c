"""Playbooks: YAML specs and their JSON Schema, validation, versions, the component registry
and sandbox, the component marketplace, the trigger consumer and launcher, dry-run and
experiments.

The names below are imported on first use (PEP 562): a sandbox child imports
``crmos.playbooks.components`` and a component's module, and must not pay for (or hold) the
service, the store and the engines the rest of this room needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmos.playbooks.backtest import Backtest, backtest
    from crmos.playbooks.components import (
        Component,
        ComponentRegistry,
        HostRefused,
        Sandbox,
        SandboxViolation,
        UnknownComponent,
    )
    from crmos.playbooks.described import load_components
    from crmos.playbooks.erasure import DATA_MAP, PlaybooksEraser
    from crmos.playbooks.market import Marketplace
    from crmos.playbooks.service import Playbooks
    from crmos.playbooks.spec import Playbook, PlaybookSpec, json_schema
    from crmos.playbooks.versions import Version

_WHERE = {
    "Backtest": "backtest",
    "backtest": "backtest",
    "Component": "components",
    "ComponentRegistry": "components",
    "HostRefused": "components",
    "Sandbox": "components",
    "SandboxViolation": "components",
    "UnknownComponent": "components",
    "load_components": "described",
    "DATA_MAP": "erasure",
    "PlaybooksEraser": "erasure",
    "Marketplace": "market",
    "Playbooks": "service",
    "Playbook": "spec",
    "PlaybookSpec": "spec",
    "json_schema": "spec",
    "Version": "versions",
}

__all__ = [
    "DATA_MAP",
    "Backtest",
    "Component",
    "ComponentRegistry",
    "HostRefused",
    "Marketplace",
    "Playbook",
    "PlaybookSpec",
    "Playbooks",
    "PlaybooksEraser",
    "Sandbox",
    "SandboxViolation",
    "UnknownComponent",
    "Version",
    "backtest",
    "json_schema",
    "load_components",
]


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crmos.playbooks' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"crmos.playbooks.{module}"), name)
    globals()[name] = value
    return value
