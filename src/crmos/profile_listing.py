"""Listing live profiles with filters that span rooms, for the API, the console and the CLI.

Identity answers the text query and its own filters through its blind index; facts other rooms
own (audience membership, role scores, consent) become a set of live profile ids here, through
those rooms' public functions, and identity narrows its page to that set. One place, so that
``GET /api/v1/profiles``, the console's people list and ``crmos profiles list`` always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Engine

from crmos.compliance import profiles_with_consent
from crmos.compliance.consent import ConsentState
from crmos.core.errors import Problem, ValidationError
from crmos.graph import members, profiles_scoring
from crmos.identity import ProfileFilters, ProfilePage, Sort, catch_up, roots_of, search_profiles
from crmos.store import Vault

AUDIENCE_CAP = 1_000_000
"""Members read for an audience filter at most."""
_MEMBERS_PAGE = 10_000
CONSENT_HELP = "use PURPOSE:CHANNEL:STATE, e.g. marketing:email:granted"


@dataclass(frozen=True, slots=True)
class OtherFilters:
    """Filters on facts other rooms own: audience membership, a role score, consent."""

    audience: str | None = None
    role: str | None = None
    min_score: float = 0.5
    consent: tuple[str, str, ConsentState] | None = None

    def within(self, conn: Connection, workspace_id: str) -> frozenset[str] | None:
        """The live profiles every given filter allows (None: no such filter)."""
        sets: list[set[str]] = []
        if self.audience is not None:
            sets.append(audience_members(conn, workspace_id, self.audience))
        if self.role is not None:
            scoring = profiles_scoring(conn, workspace_id, self.role, self.min_score)
            sets.append(roots_of(conn, workspace_id, scoring))
        if self.consent is not None:
            held = profiles_with_consent(conn, workspace_id, *self.consent)
            sets.append(roots_of(conn, workspace_id, held))
        return frozenset(set.intersection(*sets)) if sets else None


def parse_consent(text: str | None) -> tuple[str, str, ConsentState] | None:
    """``PURPOSE:CHANNEL:STATE`` as a tuple; :class:`ValidationError` when malformed."""
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 3 or not all(parts) or parts[2] not in ("granted", "withdrawn"):
        raise ValidationError("malformed consent filter", [Problem("consent", CONSENT_HELP)])
    return parts[0], parts[1], cast(ConsentState, parts[2])


def audience_members(conn: Connection, workspace_id: str, audience_id: str) -> set[str]:
    """The profile ids of an audience's members (at most :data:`AUDIENCE_CAP`)."""
    out: set[str] = set()
    after = ""
    while len(out) < AUDIENCE_CAP:
        page = members(conn, workspace_id, audience_id, limit=_MEMBERS_PAGE, after=after)
        ids = [m["profile_id"] for m in page["data"]]
        out.update(ids)
        if len(ids) < _MEMBERS_PAGE:
            break
        after = ids[-1]
    return out


def find_profiles(
    engine: Engine,
    vault: Vault,
    workspace_id: str,
    query: str = "",
    filters: ProfileFilters | None = None,
    others: OtherFilters | None = None,
    sort: Sort = "-last_seen",
    cursor: str | None = None,
    limit: int = 50,
) -> ProfilePage:
    """A page of live profiles matching ``query`` and every filter (identity's search)."""
    key = vault.search_key(workspace_id)
    catch_up(engine, key, workspace_id)
    with engine.connect() as conn:
        within = None if others is None else others.within(conn, workspace_id)
        narrowed = replace(filters or ProfileFilters(), within=within)
        return search_profiles(conn, key, workspace_id, query, narrowed, sort, cursor, limit)


def epoch_ms(moment: datetime | None) -> int | None:
    """``moment`` in Unix milliseconds, a naive one read as UTC (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
