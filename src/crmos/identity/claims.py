"""What one event says about identity: its identifiers, its trait statement, its account.

Pure. Identifiers come from ``userId`` (typed per source), ``anonymousId``, alias
``previousId``, ``context.device.id`` and identifier traits in ``traits`` (identify) or
``context.traits`` (every type). Group calls state the profile's ``company``.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from crmos.core.event import Event
from crmos.identity.identifiers import Rejection, auto_type, normalise
from crmos.identity.policy import IdentityPolicy

Key = tuple[str, str]
"""An identifier as (type, canonical value): the hot path's cheap form of ``Identifier``."""


class Claim(NamedTuple):
    """One event's identity content, identifiers strongest first.

    A named tuple rather than a frozen dataclass: one is built per event on the hot path, and
    a tuple is built several times faster.
    """

    seq: int | None
    message_id: str
    source: str
    ts_ms: int
    keys: list[Key]
    rejections: list[Rejection]
    traits: dict[str, Any] | None
    account: str | None


NormCache = dict[tuple[str, Any], str | ValueError]
"""Recent normalisation answers, valid for one default region."""

# Only plain strings and ints are cached, and only they are looked up: ``True`` and ``1.0``
# equal ``1`` as dict keys, yet are rejected where ``1`` is accepted.
_CACHED = (str, int)


class Normaliser:
    """Normalises raw identifier values for one policy, remembering recent answers in a cache
    that workspaces with the same default region may share.
    """

    def __init__(
        self, policy: IdentityPolicy, cache: NormCache | None = None, size: int = 200_000
    ) -> None:
        self.policy = policy
        self._size = size
        self._cache: NormCache = {} if cache is None else cache

    def __call__(self, kind: str, raw: Any) -> str:
        """The canonical value; raises ``ValueError`` with the reason."""
        hit = self._cache.get((kind, raw)) if raw.__class__ in _CACHED else None
        if hit is None:
            hit = self._miss(kind, raw)
        if isinstance(hit, ValueError):
            raise hit
        return hit

    def _miss(self, kind: str, raw: Any) -> str | ValueError:
        try:
            hit: str | ValueError = normalise(kind, raw, self.policy.region)
        except ValueError as exc:
            hit = exc
        if len(self._cache) >= self._size:
            evict_oldest(self._cache)
        if raw.__class__ in _CACHED:
            self._cache[(kind, raw)] = hit
        return hit

    def keys_of(
        self, found: list[tuple[int, int, str, Any, str]]
    ) -> tuple[list[Key], list[Rejection]]:
        """Normalise (rank, order, type, raw, path) entries: distinct keys and rejections."""
        cache = self._cache
        keys: list[Key] = []
        rejections: list[Rejection] = []
        for _, _, kind, raw, path in found:
            hit = cache.get((kind, raw)) if raw.__class__ in _CACHED else None
            if hit is None:
                hit = self._miss(kind, raw)
            if isinstance(hit, ValueError):
                rejections.append(Rejection(kind, str(raw)[:255], path, str(hit)[:300]))
                continue
            key = (kind, hit)
            if key not in keys:
                keys.append(key)
        return keys, rejections

    def user_id_type(self, source: str, user_id: str) -> str:
        """The type of a ``userId`` from ``source`` (``auto`` looks at the value, once)."""
        kind = self.policy.user_id_type(source)
        if kind != "auto":
            return kind
        hit = self._cache.get(("auto", user_id))
        if not isinstance(hit, str):
            hit = auto_type(user_id)
            self._cache[("auto", user_id)] = hit
        return hit


def evict_oldest(cache: dict[Any, Any]) -> None:
    """Forget the older half of ``cache`` (dicts keep insertion order)."""
    for key in list(itertools.islice(cache, len(cache) // 2)):
        del cache[key]


def claim_of(event: Event, norm: Normaliser) -> Claim:
    """The claim an event makes."""
    body = event.body
    context = body.get("context")
    if context.__class__ is not dict:
        context = _EMPTY
    rank = norm.policy.rank
    found: list[tuple[int, int, str, Any, str]] = []  # (rank, order, type, raw, path)
    if event.user_id:
        kind = norm.user_id_type(event.touchpoint, event.user_id)
        found.append((rank[kind], 0, kind, event.user_id, "userId"))
    if event.anonymous_id:
        found.append((rank["anonymous_id"], 1, "anonymous_id", event.anonymous_id, "anonymousId"))
    if event.type == "alias":
        previous = body.get("previousId")
        if previous and previous != event.anonymous_id:
            found.append((rank["anonymous_id"], 2, "anonymous_id", previous, "previousId"))
    device = context.get("device")
    if device.__class__ is dict and device.get("id") is not None:
        found.append((rank["device_id"], 3, "device_id", device["id"], "context.device.id"))
    statement = _statement(event, body)
    traits = context.get("traits")
    if traits.__class__ is dict:
        _trait_identifiers(norm, found, traits, "context.traits.")
    if statement is not None and event.type == "identify":
        _trait_identifiers(norm, found, statement, "traits.")
    found.sort()  # strongest type first; (rank, order) is unique, so raw values never compare
    keys, rejections = norm.keys_of(found)
    account = norm.policy.account_of(statement) if statement is not None else None
    if account is None and traits.__class__ is dict:
        account = norm.policy.account_of(traits)
    ts_ms = int(event.timestamp.timestamp() * 1000)
    source = event.touchpoint
    return Claim(event.seq, event.message_id, source, ts_ms, keys, rejections, statement, account)


_EMPTY: dict[str, Any] = {}


def _statement(event: Event, body: dict[str, Any]) -> dict[str, Any] | None:
    """The traits an event states about its person: identify traits; group: the company."""
    if event.type == "identify":
        traits = body.get("traits")
        return traits if traits.__class__ is dict and traits else None
    if event.type == "group" and body.get("groupId") is not None:
        company = body.get("traits")
        company = dict(company) if isinstance(company, dict) else {}
        return {"company": {**company, "id": str(body["groupId"])}}
    return None


def _trait_identifiers(
    norm: Normaliser,
    found: list[tuple[int, int, str, Any, str]],
    traits: dict[str, Any],
    where: str,
) -> None:
    for name, kind, rank in norm.policy.trait_order:  # by trait name: a stable order
        value = traits.get(name)
        if value is not None:
            found.append((rank, len(found) + 4, kind, value, where + name))
