"""``/api/v1/workspace`` and ``/api/v1/keys``: the caller's own workspace and its keys."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from crmos.api.auth import AdminKey, ReadKey
from crmos.store import WorkspaceStore
from crmos.store.workspaces import ADMIN_SCOPES, COMPLIANCE_SCOPES, WRITE_SCOPES

router = APIRouter(prefix="/api/v1", tags=["workspaces"])


class NewKey(BaseModel):
    """A key to issue in the caller's workspace."""

    name: str = Field(min_length=1, max_length=200, description="What the key is for.")
    kind: Literal["write", "admin", "compliance"] = Field(
        description="write: intake only; admin: everything; compliance: read, and review "
        "components."
    )
    source: str = Field(
        default="default", max_length=64, description="Touchpoint recorded on events sent with it."
    )


@router.get("/workspace", summary="The caller's workspace")
def workspace(request: Request, key: ReadKey) -> dict[str, Any]:
    """Id and name of the workspace the key belongs to."""
    store: WorkspaceStore = request.app.state.container.workspaces
    ws = store.get(key.workspace_id)
    return {"id": ws.id, "name": ws.name, "created_ms": ws.created_ms}


@router.post("/keys", status_code=201, summary="Issue a key")
def issue(request: Request, key: AdminKey, body: NewKey) -> dict[str, Any]:
    """Issue a key; the secret is shown only in this answer."""
    store: WorkspaceStore = request.app.state.container.workspaces
    scopes = {"write": WRITE_SCOPES, "compliance": COMPLIANCE_SCOPES}.get(body.kind, ADMIN_SCOPES)
    issued = store.issue_key(key.workspace_id, body.name, scopes, body.source)
    audit = request.app.state.container.compliance.audit
    details = {"name": body.name, "scopes": list(scopes), "source": body.source}
    audit(key.workspace_id, f"key:{key.id}", "key.issue", issued.key.id, details)
    return {
        "id": issued.key.id,
        "secret": issued.secret,
        "scopes": list(scopes),
        "source": body.source,
    }


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke a key")
def revoke(request: Request, key: AdminKey, key_id: str) -> None:
    """Revoke a key of the caller's workspace."""
    store: WorkspaceStore = request.app.state.container.workspaces
    store.revoke(key.workspace_id, key_id)
    audit = request.app.state.container.compliance.audit
    audit(key.workspace_id, f"key:{key.id}", "key.revoke", key_id, {})
