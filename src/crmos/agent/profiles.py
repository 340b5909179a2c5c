"""Glue to identity: find the profile of a sender, and the identifiers of a known profile.

Kept small and in one place so the agent depends on identity only through its public names.
"""

from __future__ import annotations

from sqlalchemy import Connection

from crmos import identity
from crmos.core.errors import ValidationError

# Identifier types, in the order an interaction's event carries them to identity.
EVENT_IDENTIFIERS = ("email", "phone", "anonymous_id", "user_id")


def profile_of(conn: Connection, workspace_id: str, kind: str, value: str) -> str | None:
    """The live profile holding ``kind:value``; None when none does or the value is malformed."""
    try:
        return identity.profile_of(conn, workspace_id, kind, value)
    except ValidationError:
        return None


def resolve(conn: Connection, workspace_id: str, identifiers: list[tuple[str, str]]) -> str | None:
    """The profile of the first identifier identity knows."""
    for kind, value in identifiers:
        found = profile_of(conn, workspace_id, kind, value)
        if found:
            return found
    return None


def identifiers_of(
    conn: Connection, workspace_id: str, profile_id: str
) -> tuple[str, list[tuple[str, str]]]:
    """The live id of ``profile_id`` and its identifiers (``NotFound`` for an unknown profile)."""
    view = identity.profile_view(conn, workspace_id, profile_id)
    pairs = [(str(i["type"]), str(i["value"])) for i in view["identifiers"]]
    ranked = sorted(
        (p for p in pairs if p[0] in EVENT_IDENTIFIERS), key=lambda p: EVENT_IDENTIFIERS.index(p[0])
    )
    return str(view["id"]), ranked
