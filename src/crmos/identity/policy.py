"""The identity policy of one workspace: the ``identity.*`` settings with its overrides applied.

Pure: built from settings and an override dictionary, checked once, then read on the hot path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pydantic

from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import IdentitySettings
from crmos.identity.identifiers import BUILTIN_TYPES, TRAIT_TYPES, valid_type_name

OVERRIDABLE = frozenset(IdentitySettings.model_fields) - {"cache_identifiers"}
"""Settings a workspace may override."""


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """What stitching needs to know, precomputed for the hot path."""

    region: str
    limits: dict[str, int]
    default_limit: int
    rank: dict[str, int]
    trait_types: dict[str, str]
    user_id_types: dict[str, str]
    account_path: tuple[str, ...]
    source_rank: dict[str, int]
    min_accounts: int
    min_sources: int
    version: str = ""
    trait_order: tuple[tuple[str, str, int], ...] = ()
    """(trait name, type, rank) of every identifier trait, by name: the hot path's loop."""

    @property
    def types(self) -> frozenset[str]:
        """Every identifier type this workspace knows."""
        return frozenset(BUILTIN_TYPES) | frozenset(self.trait_types.values())

    def rank_of(self, key: tuple[str, str]) -> int:
        """Sort key of an identifier: strongest type first."""
        return self.rank[key[0]]

    def limit(self, kind: str) -> int:
        """Most identifiers of ``kind`` one profile may hold (``limits`` has every known type)."""
        return self.limits.get(kind, self.default_limit)

    def user_id_type(self, source: str) -> str:
        """What a ``userId`` from ``source`` is: a type, or ``auto``."""
        return self.user_id_types.get(source) or self.user_id_types.get("*", "auto")

    def source_rank_of(self, source: str) -> int:
        """0 for the strongest listed source; unlisted sources share the weakest rank."""
        return self.source_rank.get(source, len(self.source_rank))

    def account_of(self, traits: dict[str, Any]) -> str | None:
        """The account (company) a profile's or event's traits name, if any."""
        if not self.account_path:
            return None
        value: Any = traits
        for part in self.account_path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return None if value is None or isinstance(value, dict | list) else str(value)


def build_policy(
    settings: IdentitySettings, override: dict[str, Any] | None = None
) -> IdentityPolicy:
    """The policy for ``settings`` with ``override`` applied; raises ``ValidationError``."""
    merged = _merged(settings, override or {})
    trait_types = {**TRAIT_TYPES, **merged.trait_types}
    known = frozenset(BUILTIN_TYPES) | frozenset(merged.trait_types.values())
    _check_names(merged, known)
    ordered = [*merged.priority, *(t for t in sorted(known) if t not in merged.priority)]
    rank = {kind: i for i, kind in enumerate(ordered)}
    return IdentityPolicy(
        region=merged.default_region,
        limits={kind: merged.limits.get(kind, merged.default_limit) for kind in known},
        default_limit=merged.default_limit,
        rank=rank,
        trait_types=trait_types,
        user_id_types=dict(merged.user_id_types),
        account_path=tuple(p for p in merged.account_trait.split(".") if p),
        source_rank={s: i for i, s in enumerate(merged.source_precedence)},
        min_accounts=merged.conflict_min_accounts,
        min_sources=merged.conflict_min_sources,
        version=_fingerprint(merged),
        trait_order=tuple((t, trait_types[t], rank[trait_types[t]]) for t in sorted(trait_types)),
    )


def _fingerprint(settings: IdentitySettings) -> str:
    """A short hash of the settings in force, recorded with every automated decision."""
    data = settings.model_dump(mode="json", exclude={"cache_identifiers"})
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _merged(settings: IdentitySettings, override: dict[str, Any]) -> IdentitySettings:
    unknown = sorted(set(override) - OVERRIDABLE)
    if unknown:
        valid = ", ".join(sorted(OVERRIDABLE))
        problems = [
            Problem(f"identity.{k}", f"not a workspace setting; valid: {valid}") for k in unknown
        ]
        raise ValidationError("invalid identity settings", problems)
    try:
        return IdentitySettings.model_validate({**settings.model_dump(), **override})
    except pydantic.ValidationError as exc:
        problems = [
            Problem("identity." + ".".join(str(p) for p in err["loc"]), err["msg"])
            for err in exc.errors()
        ]
        raise ValidationError("invalid identity settings", problems) from exc


def _check_names(s: IdentitySettings, known: frozenset[str]) -> None:
    valid = ", ".join(sorted(known))
    problems = [
        Problem(
            f"identity.trait_types.{trait}", f"'{kind}' is not a usable type name (a-z, 0-9, _)"
        )
        for trait, kind in s.trait_types.items()
        if not valid_type_name(kind)
    ]
    for field, names in (("limits", list(s.limits)), ("priority", s.priority)):
        problems += [
            Problem(f"identity.{field}", f"unknown identifier type '{n}'; valid: {valid}")
            for n in names
            if n not in known
        ]
    problems += [
        Problem(f"identity.limits.{k}", "must be at least 1") for k, v in s.limits.items() if v < 1
    ]
    problems += [
        Problem(f"identity.user_id_types.{src}", f"unknown type '{kind}'; valid: auto, {valid}")
        for src, kind in s.user_id_types.items()
        if kind != "auto" and kind not in known
    ]
    region = s.default_region
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(Problem("identity.default_region", f"'{region}' is not a phone region"))
    if problems:
        raise ValidationError("invalid identity settings", problems)
