"""Core: ids, clock, the error tree, settings and the Event model.

Every room may import it; it imports no other room.
"""

from crmos.core.errors import (
    ActionError,
    AuthError,
    ConfigError,
    Conflict,
    CrmosError,
    KeyDestroyed,
    NotFound,
    PayloadTooLarge,
    PermanentError,
    Problem,
    ScopeError,
    StoreError,
    TransientError,
    UnknownName,
    ValidationError,
)
from crmos.core.event import EVENT_TYPES, Event, EventType
from crmos.core.settings import Settings, load_settings, masked

__all__ = [
    "EVENT_TYPES",
    "ActionError",
    "AuthError",
    "ConfigError",
    "Conflict",
    "CrmosError",
    "Event",
    "EventType",
    "KeyDestroyed",
    "NotFound",
    "PayloadTooLarge",
    "PermanentError",
    "Problem",
    "ScopeError",
    "Settings",
    "StoreError",
    "TransientError",
    "UnknownName",
    "ValidationError",
    "load_settings",
    "masked",
]
