"""The port between the run engine and whatever acts on other systems.

An :class:`Action` is one kind of step (``erp.credit_check``, ``email.send`` ...), provided by the
connectors room or a plugin through the ``crmos.actions`` entry-point group. The engine calls
``execute`` with a :class:`StepContext` (whose ``idempotency_key`` the action must pass to the
target, e.g. as the HTTP ``Idempotency-Key`` header) and, when a later step fails permanently,
``compensate`` with the same params and the result ``execute`` returned.

Actions raise :class:`~crmos.core.errors.TransientError` when a retry may help and
:class:`~crmos.core.errors.PermanentError` when it cannot.

``execute`` may be called again with the same key at any time (a retry, a run resumed after a
crash, or a replay that learns what an unanswered attempt did before compensating it): the
target must answer a repeated key with what it did the first time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class StepContext:
    """What an action knows about the step it runs in."""

    run_id: str
    step_id: str
    attempt: int
    idempotency_key: str
    deadline: datetime | None = None
    traceparent: str | None = None
    workspace_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Action(Protocol):
    """One kind of step. ``params`` validates the step's ``with:`` block before a run starts."""

    name: ClassVar[str]
    params: ClassVar[type[BaseModel]]

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Do the step; return what compensation (and later steps) need to know."""

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Undo what ``execute`` did. Must be idempotent too (same ``ctx.idempotency_key``)."""
