"""Console sessions: a random token in an HttpOnly, SameSite=Strict cookie; the key stays here.

The browser never holds the API key after signing in: the store keeps a SHA-256 of the session
token with the key it signed in with (:class:`crmos.store.SessionStore`), so sessions survive a
restart and hold across several ``crmos serve`` nodes, and nothing the browser stores or sends
in a URL can be replayed against the API. Sessions end after ``IDLE_SECONDS`` unused,
``MAX_SECONDS`` in all, on signing out, or when their key is revoked.

CSRF: every POST must echo (form field ``csrf`` or header ``X-CSRF-Token``) a token signed with
a server secret derived from the master key: an HMAC of the cookie's token and of what it is
for. A signed-out visitor gets a cookie too (never stored) whose token is bound to the sign-in
form alone (OWASP's signed double-submit cookie), so a cross-site form posted to ``/sign-in``
without the page's token is refused even where the cookie travels with it, and a token made up
to match a planted cookie is refused, as no one without the secret can sign one. Any node
checks a token, and a page that shows it reveals nothing of the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from crmos.store import ApiKey, SessionStore

COOKIE = "crmos_session"
IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600
_TOKEN_CHARS = 43  # secrets.token_urlsafe(32)


CSRF_KEY_INFO = b"crmos/console-csrf/v1"
"""What the CSRF signing key is derived for (``Vault.derive``)."""


def csrf_of(secret: bytes, purpose: str, token: str) -> str:
    """The CSRF token of a cookie's token for ``purpose`` (``sign-in`` or ``session``), signed
    with ``secret``: it does not reveal the cookie's token, and only the server can make it."""
    message = f"{purpose}\0{token}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """One browser's session; ``key`` is the API key it acts with once signed in."""

    id: str
    secret: bytes
    """The server's CSRF signing key (:data:`CSRF_KEY_INFO`)."""
    key: ApiKey | None = None

    @property
    def csrf(self) -> str:
        """The token every form of this session posts back; a signed-out session's is good
        for the sign-in form only."""
        return csrf_of(self.secret, "session" if self.key else "sign-in", self.id)

    def csrf_matches(self, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token (constant-time)."""
        return token is not None and hmac.compare_digest(token, self.csrf)

    def __repr__(self) -> str:
        # The token is a credential: never in a log line or a traceback.
        return f"Session(key={self.key.id if self.key else None})"


class Sessions:
    """The console's sessions, stored in ``engine`` (see the module's docstring)."""

    def __init__(self, engine: Engine, secret: bytes) -> None:
        self.store = SessionStore(engine, IDLE_SECONDS * 1000, MAX_SECONDS * 1000)
        self.secret = secret

    def new(self) -> Session:
        """A fresh signed-out session (nothing is stored until it signs in)."""
        return Session(secrets.token_urlsafe(32), self.secret)

    def get(self, token: str | None) -> Session | None:
        """The session of a cookie value: signed in when the store knows it, else signed out
        (None for a missing or malformed cookie)."""
        if not token or len(token) != _TOKEN_CHARS:
            return None
        found = self.store.find(token)
        return Session(token, self.secret, None if found is None else found.key)

    def sign_in(self, old: Session | None, key: ApiKey) -> Session:
        """A new session token holding ``key``; the old token stops working (no fixation)."""
        if old is not None:
            self.end(old.id)
        session = Session(secrets.token_urlsafe(32), self.secret, key)
        self.store.open(session.id, key)
        return session

    def end(self, token: str) -> None:
        """End a session (its token opens nothing afterwards, on any node)."""
        self.store.end(token)
