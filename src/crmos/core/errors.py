"""The one error tree of crmos.

Every error crmos raises on purpose derives from :class:`CrmosError`, keeps its fields as
attributes, builds its message from them and carries a stable ``code``. The API maps the
classes to HTTP statuses in one table (``crmos.api.problems``); the CLI maps them to exit codes.

    CrmosError
    ├── ConfigError                 settings that cannot work (bad URL, missing production secret)
    ├── ValidationError             input that breaks a contract; ``problems`` lists each field
    │   └── PayloadTooLarge         an event or batch over the intake size limits
    ├── AuthError                   missing or unknown credentials
    │   └── ScopeError              a valid key without the scope the call needs
    ├── NotFound                    an id that does not exist in the caller's workspace
    ├── Conflict                    a name or id that already exists
    ├── StoreError                  the database failed; wraps the driver's exception
    │   └── KeyDestroyed            a subject's data key was destroyed (crypto-shredded)
    └── ActionError                 a step acting on another system failed
        ├── TransientError          retrying may succeed (timeout, 5xx, 429, connection refused)
        └── PermanentError          retrying cannot help (refused by the target, bad params)
            └── ConsentRefused      a message to a person lacks consent for its purpose
"""

from __future__ import annotations

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
