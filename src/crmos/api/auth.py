"""API keys on requests: HTTP Basic (Segment's write key as user name) or Bearer.

Resolved keys are cached for ``CACHE_SECONDS`` so intake does not hit the store per request;
a revoked key therefore stops working within that time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Annotated

import msgspec
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crmos.core.errors import AuthError, ScopeError
from crmos.store import ApiKey, WorkspaceStore

CACHE_SECONDS = 30.0


class _WriteKeyOnly(msgspec.Struct, rename="camel"):
    write_key: str | None = None


_WRITE_KEY = msgspec.json.Decoder(_WriteKeyOnly)


class KeyResolver:
    """Resolves secrets to keys with a short-lived cache."""

    def __init__(self, store: WorkspaceStore) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    def resolve(self, secret: str) -> ApiKey:
        """The live key for ``secret``, or :class:`AuthError`."""
        now = time.monotonic()
        hit = self._cache.get(secret)
        if hit is None or now - hit[0] > CACHE_SECONDS:
            hit = (now, self._store.resolve(secret))
            self._cache[secret] = hit
        if hit[1] is None:
            raise AuthError("unknown or revoked API key; create one with `crmos workspace create`")
        return hit[1]


def secret_from_header(header: str | None) -> str | None:
    """The key in an ``Authorization`` header: Basic user name (Segment) or Bearer token."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthError("malformed Basic credentials; send base64('WRITE_KEY:')") from exc
        return user or None
    raise AuthError(f"unsupported Authorization scheme '{scheme}'; use Basic or Bearer")


def secret_from_body(raw: bytes) -> str | None:
    """Segment's ``writeKey`` body field, when the body is a JSON object carrying one."""
    try:
        return _WRITE_KEY.decode(raw).write_key
    except msgspec.DecodeError:
        return None


def require(request: Request, scope: str) -> ApiKey:
    """The request's key, which must hold ``scope``."""
    secret = secret_from_header(request.headers.get("authorization"))
    if secret is None:
        raise AuthError("missing credentials; send 'Authorization: Bearer <admin key>'")
    resolver: KeyResolver = request.app.state.keys
    key = resolver.resolve(secret)
    if scope not in key.scopes:
        raise ScopeError(scope, key.scopes)
    return key


# The schemes only declare, in the OpenAPI document, how a request authenticates (FastAPI adds
# each operation's `security` from them); `require` reads the header itself, as it also takes
# HTTP Basic, which Segment's SDKs send.
API_KEY = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="A workspace key as a Bearer token (HTTP Basic with the key as user name works "
    "too). Admin keys hold read, write and admin; write keys hold write.",
)
METRICS_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="metricsToken",
    description="The server.metrics_token setting (CRMOS__SERVER__METRICS_TOKEN).",
)
Declared = Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY)]


def reader(request: Request, declared: Declared) -> ApiKey:
    """Dependency: a key with the ``read`` scope."""
    del declared
    return require(request, "read")


def writer(request: Request, declared: Declared) -> ApiKey:
    """Dependency: a key with the ``write`` scope (write and admin keys)."""
    del declared
    return require(request, "write")


def admin(request: Request, declared: Declared) -> ApiKey:
    """Dependency: a key with the ``admin`` scope."""
    del declared
    return require(request, "admin")


ReadKey = Annotated[ApiKey, Depends(reader)]
WriteKey = Annotated[ApiKey, Depends(writer)]
AdminKey = Annotated[ApiKey, Depends(admin)]


def metrics_token(
    request: Request,
    declared: Annotated[HTTPAuthorizationCredentials | None, Security(METRICS_TOKEN)],
) -> None:
    """Dependency: the ``server.metrics_token`` as a Bearer token, compared in constant time.

    Metrics name workspace ids, so they are never served without it; unset, nobody gets them.
    """
    del declared
    token = request.app.state.settings.server.metrics_token
    secret = secret_from_header(request.headers.get("authorization"))
    if token is None:
        raise AuthError(
            "metrics are off: set CRMOS__SERVER__METRICS_TOKEN and send it as "
            "'Authorization: Bearer <token>'"
        )
    if secret is None or not hmac.compare_digest(
        secret.encode(), token.get_secret_value().encode()
    ):
        raise AuthError("missing or wrong metrics token; send 'Authorization: Bearer <token>'")
