"""Per-workspace identity settings: an override merged over the ``identity.*`` settings.

Changing it bumps the workspace epoch, so the stitcher picks the new policy up with its next
batch. Events already stitched stay as they are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, update

from crmos.core.settings import IdentitySettings
from crmos.identity import repo
from crmos.identity.policy import OVERRIDABLE, build_policy
from crmos.store.tables_identity import identity_workspaces


def workspace_override(conn: Connection, workspace_id: str) -> dict[str, Any]:
    """The settings this workspace overrides (empty: it uses the defaults)."""
    return repo.read_override(conn, workspace_id)


def effective_config(
    conn: Connection, workspace_id: str, settings: IdentitySettings | None = None
) -> dict[str, Any]:
    """The identity settings in force for the workspace: defaults with its override."""
    base = (settings or IdentitySettings()).model_dump()
    merged = {**base, **repo.read_override(conn, workspace_id)}
    return {k: v for k, v in merged.items() if k in OVERRIDABLE}


def set_workspace_config(
    conn: Connection,
    workspace_id: str,
    changes: dict[str, Any],
    *,
    settings: IdentitySettings | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Apply ``changes`` to the workspace's override (``None`` removes a key; ``replace``
    starts from empty) and return the new override. ``ValidationError`` names each bad key.
    """
    current = {} if replace else repo.read_override(conn, workspace_id)
    override = {k: v for k, v in {**current, **changes}.items() if v is not None}
    build_policy(settings or IdentitySettings(), override)  # raises on anything invalid
    repo.lock_workspace(conn, workspace_id)
    t = identity_workspaces.c
    conn.execute(
        update(identity_workspaces)
        .where(t.workspace_id == workspace_id)
        .values(config=repo.dumps(override), updated_ms=repo.now_ms())
    )
    return override
