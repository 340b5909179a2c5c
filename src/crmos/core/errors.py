"""The one error tree of crmos.

Every error crmos raises on purpose derives from :class:`CrmosError`, keeps its fields as
attributes, builds its message from them and carries a stable ``code``. The API maps the
classes to HTTP statuses in one table (``crmos.api.problems``); the CLI maps them to exit codes.

    CrmosError
    ├── ConfigError                 settings that cannot work (bad URL, missing production secret)
    ├── ValidationError             input that breaks a contract; ``problems`` lists each field
    │   ├── PayloadTooLarge         an event or batch over the intake size limits
    │   ├── ConditionError          (triggers) a CEL expression that does not compile
    │   ├── InvalidValue            (compliance) a value a field validator refused (CPF, VAT ...)
    │   └── RuleDataError           (graph) an event lacks what an inference rule needs
    ├── AuthError                   missing or unknown credentials
    │   └── ScopeError              a valid key without the scope the call needs
    ├── NotFound                    an id that does not exist in the caller's workspace
    │   └── UnknownName             a name nothing registers; ``suggestions`` holds the close ones
    │       ├── UnknownAction       (sagas) no saga action has the name
    │       └── UnknownComponent    (playbooks) no playbook component has the name
    ├── Conflict                    a name or id that already exists
    ├── LLMError                    (agent) the LLM endpoint gave no usable answer
    ├── StoreError                  the database failed; wraps the driver's exception
    │   └── KeyDestroyed            a subject's data key was destroyed (crypto-shredded)
    └── ActionError                 a step acting on another system failed
        ├── TransientError          retrying may succeed (timeout, 5xx, 429, connection refused)
        └── PermanentError          retrying cannot help (refused by the target, bad params)
            ├── ConsentRefused      a message to a person lacks consent for its purpose
            ├── HostRefused         (playbooks) a component called a host it did not declare
            └── SandboxViolation    (playbooks) the sandbox stopped a component (a rule or limit)

The errors marked with a room are defined in that room; the ones that were raised as builtins
before keep that builtin as a second base (``ConditionError`` is still a ``ValueError``,
``UnknownName`` a ``LookupError``), so code that catches the builtin still does.
:func:`suggest` is the one place that finds the names close to a wrong one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (``path``, e.g. ``batch[3].userId``) and why.

    ``reason`` is a short stable word for counting rejections (``unknown_field``, ``too_large``).
    """

    path: str
    message: str
    index: int | None = None
    reason: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data."""
        out: dict[str, Any] = {"path": self.path, "message": self.message, "reason": self.reason}
        if self.index is not None:
            out["index"] = self.index
        return out


class CrmosError(Exception):
    """Root of every error crmos raises on purpose."""

    code = "crmos_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CrmosError):
    """A setting cannot work; the message names the setting and how to fix it."""

    code = "config_error"

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"setting {setting}: {reason}")


class ValidationError(CrmosError):
    """Input breaks a contract. ``problems`` names every offending field."""

    code = "validation_error"

    def __init__(self, what: str, problems: list[Problem] | None = None) -> None:
        self.what = what
        self.problems = problems or []
        detail = "; ".join(f"{p.path}: {p.message}" for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{what}: {detail}{more}" if detail else what)


class PayloadTooLarge(ValidationError):
    """An event or a batch exceeds the intake size limits."""

    code = "payload_too_large"


class AuthError(CrmosError):
    """Credentials are missing or unknown."""

    code = "unauthorized"


class ScopeError(AuthError):
    """The key is valid but lacks the scope the call needs."""

    code = "forbidden"

    def __init__(self, needed: str, held: tuple[str, ...]) -> None:
        self.needed = needed
        self.held = held
        super().__init__(
            f"this key lacks the '{needed}' scope (it has: {', '.join(held) or 'none'}); "
            f"use a key created with '{needed}'"
        )


class NotFound(CrmosError):
    """An id that does not exist in the caller's workspace."""

    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} '{ident}' not found in this workspace")


class UnknownName(NotFound, LookupError):
    """A name (of a component, an action, a connector endpoint ...) that nothing registers.

    ``suggestions`` are the known names closest to it (see :func:`suggest`); the message names
    the closest, or lists the known ones when none is close. With ``where``, the name is one a
    declaration lacks ("endpoint 'x' is not declared in spec 'erp'").
    """

    code = "unknown_name"

    def __init__(self, kind: str, name: str, known: Iterable[str], where: str = "") -> None:
        self.kind = kind
        self.ident = self.name = name
        self.known = tuple(sorted(known))
        self.suggestions = suggest(name, self.known)
        self.where = where
        listing = ", ".join(self.known) or "none"
        if where:
            head, otherwise = f"{kind} '{name}' is not declared in {where}", f"declared: {listing}"
        else:
            head, otherwise = f"unknown {kind} '{name}'", f"known: {listing}"
        hint = f"did you mean '{self.suggestions[0]}'?" if self.suggestions else otherwise
        CrmosError.__init__(self, f"{head}; {hint}")


def suggest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names that look like ``name``, closest first (difflib's ratio of 0.6 or more)."""
    return difflib.get_close_matches(name, list(known), n=n)


def did_you_mean(name: str, known: Iterable[str], otherwise: str = "") -> str:
    """``did you mean 'x'?`` for the known name closest to ``name``; ``otherwise`` if none is."""
    close = suggest(name, known, n=1)
    return f"did you mean '{close[0]}'?" if close else otherwise


class Conflict(CrmosError):
    """A name or id that already exists."""

    code = "conflict"

    def __init__(self, kind: str, ident: str, hint: str = "") -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} '{ident}' already exists" + (f"; {hint}" if hint else ""))


class StoreError(CrmosError):
    """The database failed; the driver's exception is the ``__cause__``."""

    code = "store_error"

    def __init__(self, operation: str, reason: str) -> None:
        self.operation = operation
        self.reason = reason
        super().__init__(f"store failed during {operation}: {reason}")


class KeyDestroyed(StoreError):
    """A subject's data key was destroyed, so its personal data is unreadable for good."""

    code = "key_destroyed"

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__("decrypt", f"the data key of subject '{subject}' was destroyed")


class ActionError(CrmosError):
    """A step acting on another system (ERP, e-mail, chat ...) failed."""

    code = "action_failed"

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: {reason}")


class TransientError(ActionError):
    """The step may succeed if retried (timeout, 5xx, 429, connection refused)."""

    code = "action_transient"


class PermanentError(ActionError):
    """Retrying cannot help: the target refused, or the params are wrong."""

    code = "action_permanent"


class ConsentRefused(PermanentError):
    """A message to a person was not sent: no consent for its purpose on its channel.

    ``refusals`` maps each refused recipient (address or profile id) to the reason in words.
    """

    code = "consent_refused"

    def __init__(self, target: str, purpose: str, channel: str, refusals: dict[str, str]) -> None:
        self.purpose, self.channel, self.refusals = purpose, channel, dict(refusals)
        who = "; ".join(f"{name}: {why}" for name, why in refusals.items())
        super().__init__(target, f"not sent, no consent to {purpose} via {channel} ({who})")
