"""Sagas: durable runs of idempotent, compensable steps with retries and recovery (DBOS).

Exports the run service (API/CLI side), the engine (worker side), the action port and registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmos.sagas.dispatch import Dispatcher, application_version, system_database_url
from crmos.sagas.erasure import DATA_MAP, SagasEraser
from crmos.sagas.model import RUN_STATUSES, TERMINAL, Plan
from crmos.sagas.ports import (
    CONSENT_FREE_PURPOSES,
    Action,
    ConsentAnswer,
    ConsentPort,
    StepContext,
)
from crmos.sagas.registry import ActionRegistry, UnknownAction, load_registry
from crmos.sagas.service import Runs
from crmos.sagas.views import Entry, RunDetail, RunInfo, StepState

if TYPE_CHECKING:
    from crmos.sagas.engine import Engine
    from crmos.sagas.tracing import Tracing

__all__ = [
    "CONSENT_FREE_PURPOSES",
    "DATA_MAP",
    "RUN_STATUSES",
    "TERMINAL",
    "Action",
    "ActionRegistry",
    "ConsentAnswer",
    "ConsentPort",
    "Dispatcher",
    "Engine",
    "Entry",
    "Plan",
    "RunDetail",
    "RunInfo",
    "Runs",
    "SagasEraser",
    "StepContext",
    "StepState",
    "Tracing",
    "UnknownAction",
    "application_version",
    "load_registry",
    "system_database_url",
]


def __getattr__(name: str) -> Any:
    # The engine pulls in DBOS and the OpenTelemetry SDK: import them only when asked for.
    if name == "Engine":
        from crmos.sagas.engine import Engine

        return Engine
    if name == "Tracing":
        from crmos.sagas.tracing import Tracing

        return Tracing
    raise AttributeError(f"module 'crmos.sagas' has no attribute {name!r}")
