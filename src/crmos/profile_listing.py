"""Listing live profiles with filters that span rooms, for the API, the console and the CLI.

Identity answers the text query and its own filters through its blind index; facts other rooms
own (audience membership, role scores, consent) become a set of live profile ids here, through
those rooms' public functions, and identity narrows its page to that set. One place, so that
``GET /api/v1/profiles``, the console's people list and ``crmos profiles list`` always agree.

Sorting by predicted customer lifetime value (``-clv``, ``clv``) is ranked by the analytics
room: its ranking is read in batches and identity keeps the batch's profiles that match the
query and filters; profiles with no predicted value yet follow, most recently seen first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

import orjson
from sqlalchemy import Connection, Engine

from crmos.analytics import facts_of, profiles_in_range, ranked_by_value
from crmos.compliance import profiles_with_consent
from crmos.compliance.consent import ConsentState
from crmos.core.errors import Problem, ValidationError
from crmos.graph import members, profiles_scoring
from crmos.identity import (
    ProfileFilters,
    ProfilePage,
    ProfileSummary,
    Sort,
    candidates_of,
    catch_up,
    roots_of,
    search_profiles,
)
from crmos.store import Vault

ListSort = Literal["-last_seen", "last_seen", "-created", "created", "-clv", "clv"]
LIST_SORTS: tuple[ListSort, ...] = get_args(ListSort)
VALUE_SORTS = ("-clv", "clv")
SORT_HELP = (
    "last_seen, created or clv (predicted customer lifetime value; profiles with none yet come "
    "last); a leading '-' sorts newest or highest first."
)
_BATCH = 200
"""Ranked profiles read per step of a value-sorted listing (identity's page limit)."""
_AMONG = 2000
"""Up to this many candidates, a value-sorted listing ranks them alone; more are found
while walking the whole ranking (they are then common enough that a page turns up soon)."""

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
    clv_min: float | None = None
    clv_max: float | None = None
    churn_min: float | None = None
    churn_max: float | None = None

    def __post_init__(self) -> None:
        problems = [
            Problem(low, f"is above {high}")
            for low, high in (("clv_min", "clv_max"), ("churn_min", "churn_max"))
            if (a := getattr(self, low)) is not None
            and (b := getattr(self, high)) is not None
            and a > b
        ]
        if problems:
            raise ValidationError("empty value range", problems)

    def within(self, conn: Connection, workspace_id: str) -> frozenset[str] | None:
        """The live profiles every given filter allows (None: no such filter)."""
        sets: list[set[str]] = []
        for column in ("clv", "churn"):
            low, high = getattr(self, f"{column}_min"), getattr(self, f"{column}_max")
            if low is not None or high is not None:
                sets.append(profiles_in_range(conn, workspace_id, column, low, high))
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
    sort: str = "-last_seen",
    cursor: str | None = None,
    limit: int = 50,
) -> ProfilePage:
    """A page of live profiles matching ``query`` and every filter (identity's search), or
    ranked by predicted value (``sort`` ``-clv``/``clv``, see the module's docstring)."""
    if sort not in LIST_SORTS:
        raise ValidationError("unknown sort", [Problem("sort", f"'{sort}'; valid: {LIST_SORTS}")])
    key = vault.search_key(workspace_id)
    catch_up(engine, key, workspace_id)
    with engine.connect() as conn:
        within = None if others is None else others.within(conn, workspace_id)
        narrowed = replace(filters or ProfileFilters(), within=within)
        if sort in VALUE_SORTS:
            among = candidates_of(conn, key, workspace_id, query, narrowed)
            small = among if among is not None and len(among) <= _AMONG else None
            ranked = _Ranked(conn, key, workspace_id, query, narrowed, small)
            return ranked.page(sort == "-clv", cursor, limit)
        plain = cast(Sort, sort)
        return search_profiles(conn, key, workspace_id, query, narrowed, plain, cursor, limit)


def with_values(engine: Engine, workspace_id: str, page: ProfilePage) -> dict[str, Any]:
    """``page`` as JSON-ready data, each profile with its predicted ``clv`` and ``churn``
    likelihood from the analytics room (null when not predicted yet)."""
    out = page.as_dict()
    with engine.connect() as conn:
        facts = facts_of(conn, workspace_id, [p["id"] for p in out["data"]])
    for person in out["data"]:
        known = facts.get(person["id"], {})
        person["clv"] = known.get("clv")
        person["churn"] = known.get("propensity", {}).get("churn")
    return out


@dataclass(frozen=True, slots=True)
class _Ranked:
    """A listing ranked by predicted value: the ranked profiles first, then the others."""

    conn: Connection
    key: bytes
    workspace_id: str
    query: str
    filters: ProfileFilters
    among: frozenset[str] | None
    """The candidates when a query or filter names few (ranked alone, instead of walking the
    whole ranking for the rare profiles that match); None when they are many or unknown."""

    def page(self, descending: bool, cursor: str | None, limit: int) -> ProfilePage:
        """One page; the cursor says which part it resumes and where."""
        sort = "-clv" if descending else "clv"
        part, where = _decode(cursor, sort) if cursor else ("v", None)
        if part == "n":
            return self._rest(sort, cast(str | None, where), limit)
        found = self._valued(descending, cast(tuple[float, str] | None, where), limit + 1)
        if len(found) > limit:
            last, value = found[limit - 1]
            return ProfilePage([s for s, _ in found[:limit]], _encode(sort, "v", [value, last.id]))
        data = [s for s, _ in found]
        if len(data) == limit:  # is anyone unvalued left to follow?
            more = self._others(None, 1).data
            return ProfilePage(data, _encode(sort, "n", None) if more else None)
        rest = self._rest(sort, None, limit - len(data))
        return ProfilePage(data + rest.data, rest.next_cursor)

    def _valued(
        self, descending: bool, after: tuple[float, str] | None, want: int
    ) -> list[tuple[ProfileSummary, float]]:
        """Up to ``want`` matching profiles with a value, in rank order, after ``after``."""
        out: list[tuple[ProfileSummary, float]] = []
        while len(out) < want:
            batch = ranked_by_value(
                self.conn, self.workspace_id, descending, after, _BATCH, self.among
            )
            if not batch:
                break
            ids = frozenset(pid for pid, _ in batch)
            if self.filters.within is not None:
                ids &= self.filters.within
            if ids:
                narrowed = replace(self.filters, within=ids)
                page = search_profiles(
                    self.conn, self.key, self.workspace_id, self.query, narrowed, limit=_BATCH
                )
                matched = {s.id: s for s in page.data}
                out.extend((matched[pid], v) for pid, v in batch if pid in matched)
            after = (batch[-1][1], batch[-1][0])
        return out[:want]

    def _others(self, cursor: str | None, limit: int) -> ProfilePage:
        if self.among is None:
            valued = frozenset(profiles_in_range(self.conn, self.workspace_id, "clv"))
        else:  # only the candidates' values matter
            ranked = ranked_by_value(
                self.conn, self.workspace_id, limit=len(self.among), among=self.among
            )
            valued = frozenset(pid for pid, _ in ranked)
        others = replace(self.filters, without=valued | (self.filters.without or frozenset()))
        return search_profiles(
            self.conn, self.key, self.workspace_id, self.query, others, "-last_seen", cursor, limit
        )

    def _rest(self, sort: str, cursor: str | None, limit: int) -> ProfilePage:
        """The profiles with no value, most recently seen first."""
        page = self._others(cursor, limit)
        nxt = _encode(sort, "n", page.next_cursor) if page.next_cursor else None
        return ProfilePage(page.data, nxt)


def _encode(sort: str, part: str, where: Any) -> str:
    raw = orjson.dumps([sort, part, where])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[str, Any]:
    """The part (``v``: ranked, ``n``: no value) and position a value-sorted cursor holds."""
    try:
        made_for, part, where = orjson.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        if made_for == sort and part == "v" and isinstance(where, list) and len(where) == 2:
            value, pid = where
            if isinstance(value, int | float) and isinstance(pid, str):
                return part, (float(value), pid)
        if made_for == sort and part == "n" and (where is None or isinstance(where, str)):
            return part, where
    except (binascii.Error, ValueError, TypeError):
        pass
    problem = Problem("cursor", "is not a cursor of this listing; start again without it")
    raise ValidationError("bad cursor", [problem])


def epoch_ms(moment: datetime | None) -> int | None:
    """``moment`` in Unix milliseconds, a naive one read as UTC (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
