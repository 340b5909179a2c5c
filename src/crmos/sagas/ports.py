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

An action that sends a message to a person (``email.send``) asks the :class:`ConsentPort` in
its context first, whoever started the run (a playbook, ``crmos runs start``, the API): the
port is implemented by the compliance room and handed to the engine by the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

#: Purposes of messages a person gets without a marketing consent: ``transactional`` (what a
#: contract needs: an order or invoice notice), ``service`` (an answer to the person's own request:
#: a data-subject request's confirmation letter, a support reply) and ``internal`` (a message to
#: the company's own staff). Every other purpose (``marketing`` by default) needs the consent
#: check. The purpose is kept in the step's params and result, so a run shows what it claimed.
CONSENT_FREE_PURPOSES = frozenset({"transactional", "service", "internal"})


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    """Whether a message for a purpose may reach one person on one channel, and why."""

    allowed: bool
    reason: str
    profile_id: str | None = None
    decision_id: str | None = None  # the Decision recorded for a refusal


class ConsentPort(Protocol):
    """May a message for ``purpose`` reach this person on ``channel`` now?

    The person is named by ``address`` (looked up as an identifier of the channel's kind, e.g.
    an e-mail address), by ``profile_id``, or both; an address that belongs to another profile
    is checked for that profile. Implemented by :class:`crmos.compliance.ConsentGate`.
    """

    def check(
        self,
        workspace_id: str,
        *,
        purpose: str,
        channel: str,
        address: str | None = None,
        profile_id: str | None = None,
    ) -> ConsentAnswer:
        """The answer for one recipient (a refusal is recorded as a Decision)."""


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
    consent: ConsentPort | None = None  # None: messages that need consent are refused


class Action(Protocol):
    """One kind of step. ``params`` validates the step's ``with:`` block before a run starts."""

    name: ClassVar[str]
    params: ClassVar[type[BaseModel]]

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Do the step; return what compensation (and later steps) need to know."""

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Undo what ``execute`` did. Must be idempotent too (same ``ctx.idempotency_key``)."""
