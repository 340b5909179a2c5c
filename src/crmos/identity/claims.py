"""What one event says about identity: its identifiers, its trait statement, its account.

Pure. Identifiers come from ``userId`` (typed per source), ``anonymousId``, alias
``previousId``, ``context.device.id`` and identifier traits in ``traits`` (identify) or
``context.traits`` (every type). Group calls state the profile's ``company``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmos.core.event import Event
from crmos.identity.identifiers import Rejection, auto_type, normalise
from crmos.identity.policy import IdentityPolicy

Key = tuple[str, str]
"""An identifier as (type, canonical value): the hot path's cheap form of ``Identifier``."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One event's identity content, identifiers strongest first."""

    seq: int | None
    message_id: str
    source: str
    ts_ms: int
    keys: list[Key]
    rejections: list[Rejection]
    traits: dict[str, Any] | None
    account: str | None


class Normaliser:
    """Normalises raw identifier values for one policy, remembering recent answers."""

    def __init__(self, policy: IdentityPolicy, size: int = 100_000) -> None:
        self.policy = policy
        self._size = size
        self._cache: dict[tuple[str, Any], str | ValueError] = {}

    def __call__(self, kind: str, raw: Any) -> str:
        """The canonical value; raises ``ValueError`` with the reason."""
        hit = self._cache.get((kind, raw))
        if hit is None:
            try:
                hit = normalise(kind, raw, self.policy.region)
            except ValueError as exc:
                hit = exc
            if len(self._cache) >= self._size:
                self._cache.clear()
            if isinstance(raw, str | int):
                self._cache[(kind, raw)] = hit
        if isinstance(hit, ValueError):
            raise hit
        return hit

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


def claim_of(event: Event, norm: Normaliser) -> Claim:
    """The claim an event makes."""
    policy = norm.policy
    found: list[tuple[str, Any, str]] = []
    body = event.body
    context = body.get("context")
    context = context if isinstance(context, dict) else {}
    if event.user_id:
        found.append((norm.user_id_type(event.touchpoint, event.user_id), event.user_id, "userId"))
    if event.anonymous_id:
        found.append(("anonymous_id", event.anonymous_id, "anonymousId"))
    previous = body.get("previousId") if event.type == "alias" else None
    if previous and previous != event.anonymous_id:
        found.append(("anonymous_id", previous, "previousId"))
    device = context.get("device")
    if isinstance(device, dict) and device.get("id") is not None:
        found.append(("device_id", device["id"], "context.device.id"))
    statement = _statement(event, body)
    _trait_identifiers(found, policy, context.get("traits"), "context.traits")
    if event.type == "identify":
        _trait_identifiers(found, policy, statement, "traits")
    keys, rejections = _normalised(found, norm)
    account = policy.account_of(statement or {}) or _context_account(policy, context)
    return Claim(
        event.seq,
        event.message_id,
        event.touchpoint,
        int(event.timestamp.timestamp() * 1000),
        keys,
        rejections,
        statement,
        account,
    )


def _statement(event: Event, body: dict[str, Any]) -> dict[str, Any] | None:
    """The traits an event states about its person: identify traits; group: the company."""
    if event.type == "identify":
        traits = body.get("traits")
        return traits if isinstance(traits, dict) and traits else None
    if event.type == "group" and body.get("groupId") is not None:
        company = body.get("traits")
        company = dict(company) if isinstance(company, dict) else {}
        return {"company": {**company, "id": str(body["groupId"])}}
    return None


def _trait_identifiers(
    found: list[tuple[str, Any, str]], policy: IdentityPolicy, traits: Any, where: str
) -> None:
    if not isinstance(traits, dict):
        return
    for name, kind in policy.trait_types.items():
        value = traits.get(name)
        if value is not None:
            found.append((kind, value, f"{where}.{name}"))


def _context_account(policy: IdentityPolicy, context: dict[str, Any]) -> str | None:
    traits = context.get("traits")
    return policy.account_of(traits) if isinstance(traits, dict) else None


def _normalised(
    found: list[tuple[str, Any, str]], norm: Normaliser
) -> tuple[list[Key], list[Rejection]]:
    keys: list[Key] = []
    rejections: list[Rejection] = []
    for kind, raw, path in found:
        try:
            key = (kind, norm(kind, raw))
        except ValueError as exc:
            rejections.append(Rejection(kind, str(raw)[:255], path, str(exc)[:300]))
            continue
        if key not in keys:
            keys.append(key)
    rank = norm.policy.rank
    keys.sort(key=lambda k: rank.get(k[0], len(rank)))
    return keys, rejections
