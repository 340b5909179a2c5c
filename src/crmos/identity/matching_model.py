"""The batch-matching model: what each column is, how to compare it, and which pairs to score.

Pure values and rules, no I/O. A :class:`ColumnProfile` (name, a sample of values) becomes a
:class:`ColumnRole` by its name first and its values second; roles give the comparisons and
the candidate blocking rules of a :class:`MatchPlan`. The Splink adapter
(``matching_splink``) turns a plan into a Splink model; overrides from a settings file
(``matching_overrides``) replace any inferred part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal[
    "forename",
    "surname",
    "name",
    "date",
    "postcode",
    "house_number",
    "address",
    "locality",
    "region",
    "phone",
    "email",
    "identifier",
    "category",
    "text",
]
KINDS: tuple[Kind, ...] = (
    "forename",
    "surname",
    "name",
    "date",
    "postcode",
    "house_number",
    "address",
    "locality",
    "region",
    "phone",
    "email",
    "identifier",
    "category",
    "text",
)

# Column-name tokens per kind, tried in this order (the first kind with a hit wins).
_NAME_TOKENS: tuple[tuple[Kind, frozenset[str]], ...] = (
    ("email", frozenset({"email", "mail", "emailaddress"})),
    ("phone", frozenset({"phone", "mobile", "tel", "telephone", "cell", "msisdn", "fax"})),
    ("date", frozenset({"dob", "birth", "birthday", "birthdate", "born", "date", "bday"})),
    ("forename", frozenset({"given", "first", "forename", "fname", "firstname", "givenname"})),
    ("surname", frozenset({"surname", "last", "family", "lname", "lastname", "familyname"})),
    ("postcode", frozenset({"postcode", "zip", "zipcode", "postal", "plz", "cep", "pincode"})),
    ("house_number", frozenset({"housenumber", "streetnumber", "houseno", "streetno"})),
    ("address", frozenset({"address", "addr", "street", "road", "line", "line1", "line2"})),
    ("locality", frozenset({"suburb", "city", "town", "locality", "village", "municipality"})),
    ("region", frozenset({"state", "region", "province", "county", "country", "prefecture"})),
    ("name", frozenset({"name", "fullname", "customer", "person", "company", "organisation"})),
    ("identifier", frozenset({"id", "ssn", "sin", "nin", "passport", "cpf", "cnpj", "tax"})),
    ("category", frozenset({"gender", "sex", "title", "nationality"})),
)
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y")


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """A column as the inference sees it: its name and a sample of its non-empty values."""

    name: str
    sample: tuple[str, ...]
    distinct: int = 0


@dataclass(frozen=True, slots=True)
class ColumnRole:
    """What a column is for matching, and why the inference thinks so.

    ``date_format`` is the ``strptime`` format of a date column's values.
    """

    column: str
    kind: Kind
    reason: str
    date_format: str | None = None


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


def tokens(column: str) -> list[str]:
    """``soc_sec_id`` -> ``['soc', 'sec', 'id']``; ``firstName`` -> ``['first', 'name']``."""
    return [t.lower() for t in _TOKEN.findall(column)]


def kind_from_name(column: str) -> Kind | None:
    """The kind a column name suggests, or ``None``."""
    parts = tokens(column)
    words = {*parts, "".join(parts)}
    return next((kind for kind, names in _NAME_TOKENS if words & names), None)


def date_format(values: Iterable[str], share: float = 0.8) -> str | None:
    """The first format in :data:`DATE_FORMATS` that parses ``share`` of ``values``."""
    sample = [v for v in values if v][:200]
    if not sample:
        return None
    for fmt in DATE_FORMATS:
        ok = sum(1 for v in sample if _parses(v, fmt))
        if ok >= share * len(sample):
            return fmt
    return None


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def kind_from_values(sample: Sequence[str]) -> tuple[Kind, str | None] | None:
    """The kind the values suggest (e-mail, phone or date), with a date's format."""
    values = [v for v in sample if v][:200]
    if len(values) < 5:
        return None
    if sum(1 for v in values if _EMAIL.match(v)) >= 0.9 * len(values):
        return "email", None
    fmt = date_format(values, share=0.9)
    if fmt is not None:
        return "date", fmt
    digits = [v for v in values if _PHONE.match(v)]
    if len(digits) >= 0.9 * len(values) and _digit_count(values) >= 7:
        return "phone", None
    return None


def _digit_count(values: Sequence[str]) -> float:
    return sum(sum(c.isdigit() for c in v) for v in values) / len(values)


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
    return roles, ignored


def _role(profile: ColumnProfile) -> ColumnRole | str:
    """The column's role, or the reason it is not compared."""
    if not profile.sample:
        return "empty in the sample"
    by_name = kind_from_name(profile.name)
    if by_name == "date":
        fmt = date_format(profile.sample)
        if fmt is None:
            return f"named like a date but its values match none of {', '.join(DATE_FORMATS)}"
        return ColumnRole(profile.name, "date", f"name says date; values like {fmt}", fmt)
    if by_name is not None:
        return ColumnRole(profile.name, by_name, f"name says {by_name}")
    by_values = kind_from_values(profile.sample)
    if by_values is not None:
        kind, fmt = by_values
        return ColumnRole(profile.name, kind, f"values look like {kind}", fmt)
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
    one = lambda c: BlockingRule((c,), (c,))  # noqa: E731 - a tiny local constructor
    rules: list[BlockingRule] = []
    for fore in by_kind.get("forename", []):
        for sur in by_kind.get("surname", []):
            rules += [BlockingRule((fore, sur), (fore, sur))]
            rules += [BlockingRule((fore, sur), (fore, sur), swap=True)]
    for kind in ("name", "date", "identifier", "email", "phone", "postcode"):
        rules += [one(c) for c in by_kind.get(kind, [])]
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
