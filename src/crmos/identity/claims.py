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


NormCache = dict[str, dict[Any, Key | ValueError]]
"""Recent normalisation answers per identifier type, raw value -> key (or the reason it was
refused), valid for one default region. Flat per type: the hot path's most frequent look-up
hashes one string instead of a (type, value) tuple."""

# Only plain strings and ints are cached, and only they are looked up: ``True`` and ``1.0``
# equal ``1`` as dict keys, yet are rejected where ``1`` is accepted.
_CACHED = frozenset((str, int))

Found = tuple[int, int, str, Any, str]
"""(rank, order, type, raw value, path): one identifier an event names, before normalising."""


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
        self._user_id_types: dict[str, str] = {}
        self.trait_specs = {
            name: (rank, order, kind)
            for order, (name, kind, rank) in enumerate(policy.trait_order, start=4)
        }
        """trait name -> (rank, order, type) of each identifier trait, numbered by name."""

    def __call__(self, kind: str, raw: Any) -> str:
        """The canonical value; raises ``ValueError`` with the reason."""
        hit = self._lookup(kind, raw)
        if isinstance(hit, ValueError):
            raise hit
        return hit[1]

    def _lookup(self, kind: str, raw: Any) -> Key | ValueError:
        cache = self._cache.get(kind)
        if cache is None:
            cache = self._cache[kind] = {}
        hit = cache.get(raw) if raw.__class__ in _CACHED else None
        if hit is not None:
            return hit
        try:
            hit = (kind, normalise(kind, raw, self.policy.region))
        except ValueError as exc:
            hit = exc
        if raw.__class__ in _CACHED:
            if sum(map(len, self._cache.values())) >= self._size:  # a miss costs far more
                evict_oldest(max(self._cache.values(), key=len))
            cache[raw] = hit
        return hit

    def keys_of(self, found: list[Found]) -> tuple[list[Key], list[Rejection]]:
        """Normalise (rank, order, type, raw, path) entries: distinct keys and rejections."""
        caches, cached, empty = self._cache, _CACHED, _NO_CACHE
        keys: list[Key] = []
        rejections: list[Rejection] = []
        for _, _, kind, raw, path in found:
            hit = caches.get(kind, empty).get(raw) if raw.__class__ in cached else None
            if hit is None:
                hit = self._lookup(kind, raw)
            if hit.__class__ is tuple:
                if hit not in keys:
                    keys.append(hit)
            else:
                rejections.append(Rejection(kind, str(raw)[:255], path, str(hit)[:300]))
        return keys, rejections

    def user_id_type(self, source: str, user_id: str) -> str:
        """The type of a ``userId`` from ``source`` (``auto`` looks at the value, once)."""
        kind = self._user_id_types.get(source)
        if kind is None:
            kind = self._user_id_types[source] = self.policy.user_id_type(source)
        if kind != "auto":
            return kind
        cache = self._cache.setdefault("", {})  # no identifier type is named ""
        hit = cache.get(user_id)
        if hit is None or hit.__class__ is not tuple:
            hit = cache[user_id] = ("", auto_type(user_id))
        return hit[1]


_NO_CACHE: dict[Any, Key | ValueError] = {}


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
    found: list[Found] = []
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
        _trait_identifiers(norm, found, traits, "context.traits.", 0)
    if statement is not None and event.type == "identify":
        _trait_identifiers(norm, found, statement, "traits.", len(norm.trait_specs))
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
    norm: Normaliser, found: list[Found], traits: dict[str, Any], where: str, after: int
) -> None:
    """Add the identifier traits of ``traits``; their order is by name, ``after`` others."""
    specs = norm.trait_specs
    for name, value in traits.items():
        spec = specs.get(name)
        if spec is not None and value is not None:
            found.append((spec[0], spec[1] + after, spec[2], value, where + name))
