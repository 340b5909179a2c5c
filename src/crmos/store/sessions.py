"""Console sessions kept in the store, so they survive a restart and hold across nodes.

A session token is 32 random bytes held only by the browser (an HttpOnly cookie); the store
keeps its SHA-256, the API key it signed in with and that key's scopes, and when it ends: a
leaked table opens no session. A session ends after ``idle_ms`` unused, at ``expires_ms``,
when it is ended, or when its key is revoked (every lookup joins the live key).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, delete, or_, select, update

from crmos.core.clock import now_ms
from crmos.store.tables import api_keys, console_sessions
from crmos.store.workspaces import ApiKey, hash_key

TOUCH_EVERY_MS = 60_000
"""A lookup writes the session's last use at most this often (not one write per page)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live stored session: the key it acts with (scopes as signed in) and its times."""

    key: ApiKey
    created_ms: int
    used_ms: int
    expires_ms: int


class SessionStore:
    """Opens, finds, ends and prunes stored console sessions."""

    def __init__(self, engine: Engine, idle_ms: int, max_ms: int) -> None:
        self._engine = engine
        self.idle_ms = idle_ms
        self.max_ms = max_ms

    def open(self, token: str, key: ApiKey) -> SignedIn:
        """Store a new session for ``token`` acting with ``key``; prunes ended ones first."""
        at = now_ms()
        row = {
            "token_hash": hash_key(token),
            "workspace_id": key.workspace_id,
            "key_id": key.id,
            "scopes": ",".join(key.scopes),
            "created_ms": at,
            "used_ms": at,
            "expires_ms": at + self.max_ms,
        }
        with self._engine.begin() as conn:
            conn.execute(delete(console_sessions).where(self._ended(at)))
            conn.execute(console_sessions.insert().values(row))
        return SignedIn(key, at, at, at + self.max_ms)

    def find(self, token: str) -> SignedIn | None:
        """The live session of ``token`` (None when unknown, ended or its key revoked)."""
        at = now_ms()
        s, k = console_sessions.c, api_keys.c
        stmt = (
            select(console_sessions, k.name, k.source, k.prefix)
            .join(api_keys, k.id == s.key_id)
            .where(s.token_hash == hash_key(token), k.revoked_ms.is_(None))
            .where(~self._ended(at))
        )
        with self._engine.connect() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            return None
        if at - row.used_ms >= TOUCH_EVERY_MS:
            with self._engine.begin() as conn:
                conn.execute(update(console_sessions).where(s.token_hash == row.token_hash)
                             .values(used_ms=at))  # fmt: skip
        scopes = tuple(row.scopes.split(","))
        key = ApiKey(row.key_id, row.workspace_id, row.name, scopes, row.source, row.prefix)
        return SignedIn(key, row.created_ms, max(row.used_ms, at), row.expires_ms)

    def end(self, token: str) -> None:
        """End the session of ``token`` (nothing when there is none)."""
        with self._engine.begin() as conn:
            conn.execute(
                delete(console_sessions).where(console_sessions.c.token_hash == hash_key(token))
            )

    def end_for_key(self, key_id: str) -> int:
        """End every session signed in with ``key_id``; how many."""
        with self._engine.begin() as conn:
            ended = conn.execute(
                delete(console_sessions).where(console_sessions.c.key_id == key_id)
            ).rowcount
        return int(ended or 0)

    def prune(self) -> int:
        """Delete the sessions that have ended (expired or idle too long); how many."""
        with self._engine.begin() as conn:
            gone = conn.execute(delete(console_sessions).where(self._ended(now_ms()))).rowcount
        return int(gone or 0)

    def _ended(self, at: int) -> ColumnElement[bool]:
        s = console_sessions.c
        return or_(s.expires_ms <= at, s.used_ms <= at - self.idle_ms)
