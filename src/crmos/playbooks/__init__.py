"""Playbooks: YAML specs and their JSON Schema, validation, versions, the component registry
and sandbox, the trigger consumer and launcher, dry-run and experiments.
"""

from crmos.playbooks.backtest import Backtest, backtest
from crmos.playbooks.components import (
    Component,
    ComponentRegistry,
    HostRefused,
    Sandbox,
    UnknownComponent,
    load_components,
)
from crmos.playbooks.erasure import DATA_MAP, PlaybooksEraser
from crmos.playbooks.service import Playbooks
from crmos.playbooks.spec import Playbook, PlaybookSpec, json_schema
from crmos.playbooks.versions import Version

__all__ = [
    "DATA_MAP",
    "Backtest",
    "Component",
    "ComponentRegistry",
    "HostRefused",
    "Playbook",
    "PlaybookSpec",
    "Playbooks",
    "PlaybooksEraser",
    "Sandbox",
    "UnknownComponent",
    "Version",
    "backtest",
    "json_schema",
    "load_components",
]
