"""Console sessions: a random id in an HttpOnly, SameSite=Strict cookie; the key stays here.

The browser never holds the API key after signing in: the session table maps the cookie's id to
the key's secret in this process's memory, so nothing the browser stores or sends in a URL can
be replayed against the API. Each session carries its CSRF token, which every POST must echo
(form field ``csrf`` or header ``X-CSRF-Token``). Sessions end after ``IDLE_SECONDS`` unused or
``MAX_SECONDS`` in all, and with the process (signing in again is one form).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "crmos_session"
IDLE_SECONDS = 2 * 3600.0
MAX_SECONDS = 12 * 3600.0


@dataclass(slots=True)
class Session:
    """One browser's session; ``secret`` is the API key once signed in."""

    id: str
    csrf: str
    secret: str | None = None
    created: float = field(default_factory=time.monotonic)
    used: float = field(default_factory=time.monotonic)

    def csrf_matches(self, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token (constant-time)."""
        return token is not None and hmac.compare_digest(token, self.csrf)


class Sessions:
    """The live sessions of this process."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, secret: str | None = None) -> Session:
        """A fresh session (signed out unless ``secret`` is given)."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secret)
        with self._lock:
            self._prune(time.monotonic())
            self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value, or ``None``."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._by_id.get(session_id)
            if session is None:
                return None
            if now - session.used > IDLE_SECONDS or now - session.created > MAX_SECONDS:
                del self._by_id[session_id]
                return None
            session.used = now
            return session

    def sign_in(self, old: Session | None, secret: str) -> Session:
        """A new session id holding ``secret``; the old id stops working (no fixation)."""
        if old is not None:
            self.end(old.id)
        return self.new(secret)

    def end(self, session_id: str) -> None:
        """Forget a session."""
        with self._lock:
            self._by_id.pop(session_id, None)

    def _prune(self, now: float) -> None:
        stale = [
            sid
            for sid, s in self._by_id.items()
            if now - s.used > IDLE_SECONDS or now - s.created > MAX_SECONDS
        ]
        for sid in stale:
            del self._by_id[sid]
