"""The profile's account (B2B company) as matching evidence: a name within one account.

CRMs deduplicate business contacts by name within an account (Salesforce's standard contact
duplicate rule: first and last name plus the account). Two colleagues rarely share a full
name, so the same name inside one account says more than the same name across the
workspace. crmos gives Splink the account as one more comparison (exact, with term
frequencies: sharing a large account is weaker evidence than sharing a small one), trained
like the others, and blocks on a name within the account so that a typo in the other name
part still gets the pair compared.

The account never merges anyone alone: profiles of different accounts still never merge
automatically (``store``), and the forename guard still applies. What the model cannot weigh
(it sees each pair alone) is whether a name is borne by one person within the account:
:func:`sole_names` finds the names that are, and two profiles of such a name merge even when
the model's score, short of other shared attributes, stays in the review band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import combinations

from crmos.identity.matching.guards import date_clash
from crmos.identity.matching.model import BlockingRule, ColumnRole, Kind, MatchPlan

ACCOUNT_COLUMN = "crmos_account"
"""The column holding each profile's account (``identity.account_trait``) while matching."""


def with_account(plan: MatchPlan, column: str = ACCOUNT_COLUMN) -> MatchPlan:
    """``plan`` that also compares ``column`` (the account) and blocks on a name within it."""
    why = "the profile's account (identity.account_trait): a name within one account"
    role = ColumnRole(column, "category", why)
    names = [r.column for r in plan.roles if r.kind in ("forename", "surname")]
    rules = tuple(BlockingRule((column, name), (column, name)) for name in names)
    return replace(plan, roles=(*plan.roles, role), blocking=(*plan.blocking, *rules))


# Kinds a person holds one of: two profiles with different values of one are two people (a
# second work address, phone or job title is possible, but then a person should decide).
_ONE_PER_PERSON: tuple[Kind, ...] = ("email", "phone", "identifier", "category")


def sole_names(
    traits: Mapping[str, Mapping[str, str]],
    accounts: Mapping[str, str | None],
    plan: MatchPlan,
) -> dict[str, tuple[str, ...]]:
    """Profiles whose full name, within their account, belongs to one person as far as the
    records tell: profile id -> (account, name) for every profile of such a group of two or
    more.

    A group is the account's live profiles bearing one full name (forename and surname, or
    else the full-name column, case-folded). It is one person's when no two of its profiles
    differ on anything a person has one of (an e-mail, a phone, an identifier, a category
    such as the job title, or a birthday other than by day and month swapped): a namesake
    colleague shows up as such a difference (their own mailbox, ``ting.liu1@``), which
    keeps the whole group to the model's score. This is the CRM duplicate rule for business
    contacts (name within account) with a guard for namesakes that Splink, weighing the name
    across the whole workspace and each comparison on its own, cannot express.
    """
    names = plan.columns_of("forename", "surname")
    if len(names) < 2:
        names = plan.columns_of("name")
    distinct = plan.columns_of(*_ONE_PER_PERSON)
    dates = plan.columns_of("date")
    groups: dict[tuple[str, ...], list[str]] = {}
    for pid, values in traits.items():
        account = accounts.get(pid)
        name = tuple(values.get(c, "").strip().casefold() for c in names)
        if account and names and all(name):
            groups.setdefault((account, *name), []).append(pid)
    out: dict[str, tuple[str, ...]] = {}
    for key, members in groups.items():
        if len(members) > 1 and not any(
            _differ(traits[a], traits[b], distinct, dates) for a, b in combinations(members, 2)
        ):
            out |= dict.fromkeys(members, key)
    return out


def _differ(
    left: Mapping[str, str], right: Mapping[str, str], distinct: Sequence[str], dates: Sequence[str]
) -> bool:
    """Whether two records hold different values of a ``distinct`` column or a date."""
    for c in distinct:
        a, b = left.get(c, "").strip().casefold(), right.get(c, "").strip().casefold()
        if a and b and a != b:
            return True
    return bool(date_clash(left, right, dates))


def one_bearer(left: str, right: str, sole: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The (account, name) that profiles ``left`` and ``right`` bear as its one person
    (``sole``: from :func:`sole_names`), or ``()``."""
    key = sole.get(left, ())
    return key if key and key == sole.get(right) else ()
