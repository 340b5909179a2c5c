"""Workspaces and their scoped API keys. Keys are random tokens stored as SHA-256 hashes.

A key is 32 random bytes (256 bits), so a plain SHA-256 is enough to make a leaked table useless;
a slow password hash (bcrypt, argon2) would only slow every request down.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from crmos.core.clock import now_ms
from crmos.core.errors import Conflict, NotFound
from crmos.core.ids import new_id
from crmos.store.tables import api_keys, console_sessions, workspaces

WRITE_SCOPES = ("write",)
ADMIN_SCOPES = ("read", "write", "admin")
COMPLIANCE_SCOPES = ("read", "compliance")  # reviewers: approve or reject components


@dataclass(frozen=True, slots=True)
class Workspace:
    """A tenant: every row crmos stores belongs to exactly one workspace."""

    id: str
    name: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key (never the secret itself)."""

    id: str
    workspace_id: str
    name: str
    scopes: tuple[str, ...]
    source: str
    prefix: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly issued key: the only moment the secret is known."""

    key: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


class WorkspaceStore:
    """Creates workspaces, issues and resolves keys."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str) -> tuple[Workspace, IssuedKey, IssuedKey]:
        """A new workspace with a write key (intake only) and an admin key."""
        ws = Workspace(new_id("ws_"), name, now_ms())
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    workspaces.insert().values(id=ws.id, name=name, created_ms=ws.created_ms)
                )
        except IntegrityError as exc:
            raise Conflict("workspace", name, "choose another name") from exc
        write = self.issue_key(ws.id, "default write key", WRITE_SCOPES, source="default")
        admin = self.issue_key(ws.id, "default admin key", ADMIN_SCOPES, source="admin")
        return ws, write, admin

    def issue_key(
        self, workspace_id: str, name: str, scopes: tuple[str, ...], source: str
    ) -> IssuedKey:
        """Issue a key; ``source`` is the touchpoint recorded on events sent with it."""
        kind = "wk" if scopes == WRITE_SCOPES else "ak"
        secret = f"crm_{kind}_{secrets.token_urlsafe(32)}"
        key = ApiKey(new_id("key_"), workspace_id, name, scopes, source, secret[:12])
        with self._engine.begin() as conn:
            conn.execute(
                api_keys.insert().values(
                    id=key.id,
                    workspace_id=workspace_id,
                    name=name,
                    scopes=",".join(scopes),
                    source=source,
                    key_hash=hash_key(secret),
                    prefix=key.prefix,
                    created_ms=now_ms(),
                )
            )
        return IssuedKey(key, secret)

    def resolve(self, secret: str) -> ApiKey | None:
        """The live key for ``secret``, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(api_keys)
                .where(api_keys.c.key_hash == hash_key(secret))
                .where(api_keys.c.revoked_ms.is_(None))
            ).one_or_none()
        if row is None:
            return None
        return ApiKey(
            row.id, row.workspace_id, row.name, tuple(row.scopes.split(",")), row.source, row.prefix
        )

    def revoke(self, workspace_id: str, key_id: str) -> None:
        """Revoke a key of ``workspace_id``; the console sessions signed in with it end."""
        with self._engine.begin() as conn:
            done = conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.workspace_id == workspace_id)
                .values(revoked_ms=now_ms())
            ).rowcount
            # The console's sessions signed in with it end with it (lookups also check).
            s = console_sessions.c
            conn.execute(
                console_sessions.delete().where(s.key_id == key_id, s.workspace_id == workspace_id)
            )
        if not done:
            raise NotFound("key", key_id)

    def get(self, workspace_id: str) -> Workspace:
        """The workspace with ``workspace_id``."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(workspaces).where(workspaces.c.id == workspace_id)
            ).one_or_none()
        if row is None:
            raise NotFound("workspace", workspace_id)
        return Workspace(row.id, row.name, row.created_ms)

    def by_name(self, name: str) -> Workspace | None:
        """The workspace called ``name``, if any."""
        with self._engine.connect() as conn:
            row = conn.execute(select(workspaces).where(workspaces.c.name == name)).one_or_none()
        return None if row is None else Workspace(row.id, row.name, row.created_ms)

    def list(self) -> list[Workspace]:
        """Every workspace (an operator's view; the API never exposes it across workspaces)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(workspaces).order_by(workspaces.c.created_ms)).all()
        return [Workspace(r.id, r.name, r.created_ms) for r in rows]
