"""Identifiers: ``NewType``s over ULID strings, sortable by creation time."""

from __future__ import annotations

from typing import NewType

from ulid import ULID

WorkspaceId = NewType("WorkspaceId", str)
KeyId = NewType("KeyId", str)
MessageId = NewType("MessageId", str)


def new_id(prefix: str = "") -> str:
    """A new ULID string, optionally with a type prefix such as ``ws_``."""
    return f"{prefix}{ULID()}"
