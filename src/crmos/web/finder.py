"""Finding people for the console's list and global search, through identity's blind-index
search (the same function ``GET /api/v1/profiles`` answers with), so both always agree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError as PydanticError

from crmos.api.routes.profile_search import ProfileQuery, list_profiles
from crmos.core.errors import Problem, ValidationError
from crmos.profile_listing import LIST_SORTS

EXPORT_PAGE = 200
SORTS = LIST_SORTS


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list is narrowed to; every field lives in the page's URL."""

    q: str = ""
    touchpoint: str = ""
    audience: str = ""
    role: str = ""
    min_score: float = 0.5
    consent: str = ""
    suppressed: bool = False
    open_review: bool = False
    seen_since: str = ""
    clv_min: str = ""
    clv_max: str = ""
    churn_min: str = ""
    sort: str = "-last_seen"

    def query(self, cursor: str | None, limit: int) -> ProfileQuery:
        """The API's query model for these filters (its validation applies)."""
        values: dict[str, Any] = {
            "q": self.q or None,
            "touchpoint": self.touchpoint or None,
            "audience": self.audience or None,
            "role": self.role or None,
            "min_score": self.min_score,
            "consent": self.consent or None,
            "marketing_suppressed": True if self.suppressed else None,
            "open_review": True if self.open_review else None,
            "last_seen_after": _day(self.seen_since),
            # As typed: the query model names a malformed number by its parameter.
            "clv_min": self.clv_min or None,
            "clv_max": self.clv_max or None,
            "churn_min": self.churn_min or None,
            "sort": self.sort if self.sort in SORTS else "-last_seen",
            "cursor": cursor or None,
            "limit": limit,
        }
        try:
            return ProfileQuery(**values)
        except PydanticError as exc:
            problems = [Problem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
            raise ValidationError("a filter is malformed", problems) from exc


def find_people(
    request: Request, workspace_id: str, filters: Filters, cursor: str = "", limit: int = 25
) -> dict[str, Any]:
    """One page: ``data`` (summaries) and ``next_cursor``."""
    return list_profiles(request, workspace_id, filters.query(cursor, limit))


def every_match(request: Request, workspace_id: str, filters: Filters) -> Iterator[dict[str, Any]]:
    """Every profile the filters match, page after page (bulk actions act on all of them)."""
    cursor = ""
    while True:
        page = find_people(request, workspace_id, filters, cursor, EXPORT_PAGE)
        yield from page["data"]
        cursor = page["next_cursor"] or ""
        if not cursor:
            return


def _day(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
