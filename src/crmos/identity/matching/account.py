"""The profile's account (B2B company) as matching evidence: a name within one account.

CRMs deduplicate business contacts by name within an account (Salesforce's standard contact
duplicate rule: first and last name plus the account). Two colleagues rarely share a full
name, so the same name inside one account says more than the same name across the
workspace. crmos gives Splink the account as one more comparison (exact, with term
frequencies: sharing a large account is weaker evidence than sharing a small one), trained
like the others, and blocks on a name within the account so that a typo in the other name
part still gets the pair compared.

The account never merges anyone alone: profiles of different accounts still never merge
automatically (``store``), and the forename guard still applies.
"""

from __future__ import annotations

from dataclasses import replace

from crmos.identity.matching.model import BlockingRule, ColumnRole, MatchPlan

ACCOUNT_COLUMN = "crmos_account"
"""The column holding each profile's account (``identity.account_trait``) while matching."""


def with_account(plan: MatchPlan, column: str = ACCOUNT_COLUMN) -> MatchPlan:
    """``plan`` that also compares ``column`` (the account) and blocks on a name within it."""
    why = "the profile's account (identity.account_trait): a name within one account"
    role = ColumnRole(column, "category", why)
    names = [r.column for r in plan.roles if r.kind in ("forename", "surname")]
    rules = tuple(BlockingRule((column, name), (column, name)) for name in names)
    return replace(plan, roles=(*plan.roles, role), blocking=(*plan.blocking, *rules))
