"""API keys on requests: HTTP Basic (Segment's write key as user name) or Bearer.

Resolved keys are cached for ``CACHE_SECONDS`` so intake does not hit the store per request;
a revoked key therefore stops working within that time.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated

import msgspec
from fastapi import Depends, Request

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


def reader(request: Request) -> ApiKey:
    """Dependency: a key with the ``read`` scope."""
    return require(request, "read")


def admin(request: Request) -> ApiKey:
    """Dependency: a key with the ``admin`` scope."""
    return require(request, "admin")


ReadKey = Annotated[ApiKey, Depends(reader)]
AdminKey = Annotated[ApiKey, Depends(admin)]
