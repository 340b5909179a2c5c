"""The batch-matching model: what each column is, how to compare it, and which pairs to score.

Pure values and rules, no I/O. A :class:`ColumnProfile` (name, a sample of values) becomes a
:class:`ColumnRole` by its name first and its values second (``kinds``); roles give
the comparisons and the candidate blocking rules of a :class:`MatchPlan`. The Splink adapter
(``splink``) turns a plan into a Splink model; overrides from a settings file
(``overrides``) replace any inferred part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from crmos.identity.matching.kinds import (
    DATE_FORMATS,
    KINDS,
    Kind,
    date_format,
    date_formats,
    kind_from_name,
    kind_from_values,
    tokens,
)

__all__ = [
    "DATE_FORMATS",
    "KINDS",
    "BlockingRule",
    "ColumnProfile",
    "ColumnRole",
    "ComparisonSpec",
    "Kind",
    "MatchPlan",
    "candidate_rules",
    "comparisons_for",
    "date_format",
    "date_formats",
    "infer_plan",
    "infer_roles",
    "kind_from_name",
    "kind_from_values",
    "refiners",
    "tokens",
]


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """A column as the inference sees it: its name and a sample of its non-empty values.

    ``parts`` splits the sample by input file (linking two files), so that each file may
    write its dates its own way.
    """

    name: str
    sample: tuple[str, ...]
    distinct: int = 0
    parts: tuple[tuple[str, ...], ...] = ()
    label: str = ""

    def by_file(self) -> tuple[tuple[str, ...], ...]:
        """The sample per input file (one part when there is one file)."""
        return self.parts or (self.sample,)


@dataclass(frozen=True, slots=True)
class ColumnRole:
    """What a column is for matching, and why the inference thinks so.

    ``date_formats`` are the ``strptime`` formats of a date column's values, one per input
    file (one for all when they agree).
    """

    column: str
    kind: Kind
    reason: str
    date_formats: tuple[str, ...] = ()

    def date_format_of(self, part: int) -> str:
        """The date format of input file ``part``."""
        return self.date_formats[min(part, len(self.date_formats) - 1)]


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """Pairs to score: records equal on every ``keys`` SQL expression (``swap`` crosses two).

    ``columns`` are the input columns the keys read; EM training cannot estimate them.
    """

    keys: tuple[str, ...]
    columns: tuple[str, ...]
    swap: bool = False

    @property
    def label(self) -> str:
        """How the rule reads in reports: ``given_name + surname``."""
        joined = " + ".join(self.keys)
        return f"{joined} (crossed)" if self.swap else joined

    def sql(self) -> str:
        """The rule as a Splink SQL condition over ``l`` and ``r``."""
        if self.swap:
            a, b = self.keys
            return f"l.{a} = r.{b} and l.{b} = r.{a}"
        return " and ".join(f"{_side(k, 'l')} = {_side(k, 'r')}" for k in self.keys)

    def refined(self, key: str, column: str) -> BlockingRule:
        """The rule narrowed by one more key."""
        return BlockingRule((*self.keys, key), (*self.columns, column))


def _side(key: str, side: str) -> str:
    """``substr(surname, 1, 1)`` -> ``substr(l.surname, 1, 1)``; a bare column gets a prefix."""
    if "(" not in key:
        return f"{side}.{key}"
    func, rest = key.split("(", 1)
    return f"{func}({side}.{rest}"


@dataclass(frozen=True, slots=True)
class ComparisonSpec:
    """One comparison of the model: a column, or columns that only make sense together.

    ``kind`` is a column kind, ``person_name`` (forename and surname, swaps included) or
    ``address`` over ``parts`` (house number, street, area, in that order; None if absent).
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    parts: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchPlan:
    """The comparisons and candidate blocking rules for one matching job."""

    roles: tuple[ColumnRole, ...]
    ignored: tuple[tuple[str, str], ...]
    blocking: tuple[BlockingRule, ...]
    refiners: tuple[tuple[str, str], ...] = field(default=())

    @property
    def comparisons(self) -> tuple[ComparisonSpec, ...]:
        """The comparisons the roles make (see :func:`comparisons_for`)."""
        return tuple(comparisons_for(self.roles))

    def role(self, column: str) -> ColumnRole | None:
        """The role of ``column``, if it is compared."""
        return next((r for r in self.roles if r.column == column), None)

    def columns_of(self, *kinds: Kind) -> list[str]:
        """The compared columns of the given kinds, in input order."""
        return [r.column for r in self.roles if r.kind in kinds]


# Columns of these kinds say little once a postcode is compared (Splink assumes independent
# comparisons, so a suburb and a state beside the postcode would count the same fact thrice).
_COVERED_BY_POSTCODE: frozenset[Kind] = frozenset({"locality", "region"})


def infer_roles(
    profiles: Sequence[ColumnProfile], id_column: str
) -> tuple[list[ColumnRole], list[tuple[str, str]]]:
    """Each column's role, from its name or else its values; and the ignored ones, with why."""
    roles: list[ColumnRole] = []
    ignored: list[tuple[str, str]] = []
    for profile in profiles:
        if profile.name == id_column:
            continue
        role = _role(profile)
        if isinstance(role, str):
            ignored.append((profile.name, role))
        else:
            roles.append(role)
    addresses = [r for r in roles if r.kind == "address"][1:]
    if addresses:
        roles = [r for r in roles if r not in addresses]
        ignored += [(r.column, "a further address line; the first is compared") for r in addresses]
    if any(r.kind == "postcode" for r in roles):
        covered = [r for r in roles if r.kind in _COVERED_BY_POSTCODE]
        roles = [r for r in roles if r.kind not in _COVERED_BY_POSTCODE]
        ignored += [(r.column, f"a {r.kind}, correlated with the postcode") for r in covered]
    kinds = {r.kind for r in roles}
    if {"forename", "surname"} <= kinds and "name" in kinds:
        covered = [r for r in roles if r.kind == "name"]
        roles = [r for r in roles if r.kind != "name"]
        ignored += [(r.column, "a full name, covered by forename and surname") for r in covered]
    return roles, ignored


def _role(profile: ColumnProfile) -> ColumnRole | str:
    """The column's role, or the reason it is not compared."""
    role = _role_of(profile)
    if profile.label and profile.label != profile.name:
        header = f"header '{profile.label}'"
        if isinstance(role, str):
            return f"{header}: {role}"
        return replace(role, reason=f"{header}: {role.reason}")
    return role


def _role_of(profile: ColumnProfile) -> ColumnRole | str:
    if not profile.sample:
        return "empty in the sample"
    by_name = kind_from_name(profile.label or profile.name)
    if by_name == "date":
        formats = date_formats(profile.by_file())
        if formats is None:
            return f"the name reads as date but no value matches {', '.join(DATE_FORMATS)}"
        why = f"the name reads as date; written {' / '.join(formats)}"
        return ColumnRole(profile.name, "date", why, formats)
    if by_name is not None:
        why = f"the name reads as {by_name.replace('_', ' ')}"
        return ColumnRole(profile.name, by_name, why)
    by_values = kind_from_values(profile.by_file())
    if by_values is not None:
        kind, formats = by_values
        return ColumnRole(profile.name, kind, f"values look like {kind}", formats)
    return "no name or value pattern of a comparable field"


_ADDRESS_KINDS: frozenset[Kind] = frozenset({"house_number", "address", "postcode", "locality"})


def comparisons_for(roles: Sequence[ColumnRole]) -> list[ComparisonSpec]:
    """One comparison per role, except two groups Splink must not count as independent.

    A forename and a surname become one ``person_name`` comparison (which also sees them
    swapped). The parts of an address (house number, street, postcode or else locality)
    become one ``address`` comparison: people sharing a home agree on all of them at once,
    and summing them as independent facts would fuse family members.
    """
    first = {k: next((r.column for r in roles if r.kind == k), None) for k in _ADDRESS_KINDS}
    fore = next((r.column for r in roles if r.kind == "forename"), None)
    sur = next((r.column for r in roles if r.kind == "surname"), None)
    area = first["postcode"] or first["locality"]
    parts = (first["house_number"], first["address"], area)
    grouped = {c for c in parts if c} if sum(1 for c in parts if c) >= 2 else set()
    if fore and sur:
        grouped |= {fore, sur}
    out: list[ComparisonSpec] = []
    for role in roles:
        if role.column == fore and sur:
            out.append(ComparisonSpec(f"{fore}_{sur}", "person_name", (fore, sur)))
        elif role.column in grouped and role.column in parts and role.column == _first(parts):
            cols = tuple(c for c in parts if c)
            out.append(ComparisonSpec("address", "address", cols, parts))
        elif role.column not in grouped:
            out.append(ComparisonSpec(role.column, role.kind, (role.column,)))
    return out


def _first(parts: Sequence[str | None]) -> str | None:
    return next((p for p in parts if p), None)


def candidate_rules(roles: Sequence[ColumnRole]) -> list[BlockingRule]:
    """Blocking rules worth trying, strongest first; the engine keeps those small enough."""
    by_kind: dict[str, list[str]] = {}
    for r in roles:
        by_kind.setdefault(r.kind, []).append(r.column)
    rules: list[BlockingRule] = []
    for fore in by_kind.get("forename", []):
        for sur in by_kind.get("surname", []):
            rules += [BlockingRule((fore, sur), (fore, sur))]
            rules += [BlockingRule((fore, sur), (fore, sur), swap=True)]
    for kind in ("name", "date", "identifier", "email", "phone", "postcode"):
        rules += [BlockingRule((c,), (c,)) for c in by_kind.get(kind, [])]
    houses = by_kind.get("house_number", [])
    for addr in by_kind.get("address", []):
        keys = (addr, houses[0]) if houses else (addr,)
        rules.append(BlockingRule(keys, keys))
    for loc in by_kind.get("locality", []):
        rules += [BlockingRule((loc, s), (loc, s)) for s in by_kind.get("surname", [])[:1]]
    return rules


def refiners(roles: Sequence[ColumnRole]) -> list[tuple[str, str]]:
    """Keys that narrow a rule producing too many pairs, as ``(sql key, column)``."""
    out: list[tuple[str, str]] = []
    for r in roles:
        if r.kind in ("surname", "forename", "name"):
            out.append((f"substr({r.column}, 1, 1)", r.column))
    for r in roles:
        if r.kind in ("date", "postcode", "house_number", "locality"):
            out.append((r.column, r.column))
    return out


def infer_plan(profiles: Sequence[ColumnProfile], id_column: str) -> MatchPlan:
    """The plan for these columns: comparisons, candidate blocking rules and refiners."""
    roles, ignored = infer_roles(profiles, id_column)
    return MatchPlan(
        roles=tuple(roles),
        ignored=tuple(ignored),
        blocking=tuple(candidate_rules(roles)),
        refiners=tuple(refiners(roles)),
    )
