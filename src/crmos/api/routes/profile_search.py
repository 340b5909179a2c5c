"""``GET /api/v1/profiles`` without ``identifier``: list and search live profiles.

Identity answers the query through its blind index; facts other rooms own (audience
membership, role scores, consent) become a set of live profile ids here, through those rooms'
public functions, and identity narrows its page to that set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine

from crmos.api.params import Moment
from crmos.compliance import profiles_with_consent
from crmos.graph import members, profiles_scoring
from crmos.identity import (
    ProfileFilters,
    Sort,
    catch_up,
    roots_of,
    search_profiles,
)

AUDIENCE_CAP = 1_000_000
"""Members read for an audience filter at most."""


class ProfileQuery(BaseModel):
    """Search text, filters, sort and paging of a profile listing."""

    q: str | None = Field(
        default=None,
        max_length=200,
        description="Name, e-mail (or its start), phone, user id, any identifier, or account "
        "name; every word must match. Chinese names match by character or pair.",
    )
    touchpoint: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="Only profiles seen through this touchpoint (source).",
    )
    audience: str | None = Field(
        default=None, max_length=40, description="Only members of this audience (its id)."
    )
    role: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Only profiles whose confidence in this role or intent reaches min_score.",
    )
    min_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="The confidence ``role`` needs (0..1)."
    )
    consent: str | None = Field(
        default=None,
        max_length=120,
        pattern=r"^[a-z][a-z0-9_]*:[a-z*][a-z0-9_]*:(granted|withdrawn)$",
        description="PURPOSE:CHANNEL:STATE, e.g. marketing:email:granted: the newest "
        "statement for that purpose and channel has that state.",
    )
    marketing_suppressed: bool | None = Field(
        default=None, description="Only profiles whose marketing is (true) or is not paused."
    )
    open_review: bool | None = Field(
        default=None, description="Only profiles with (true) or without an open review ticket."
    )
    last_seen_after: Moment | None = Field(
        default=None, description="Only profiles seen at or after this time (ISO 8601)."
    )
    last_seen_before: Moment | None = Field(
        default=None, description="Only profiles last seen before this time (ISO 8601)."
    )
    sort: Sort = Field(
        default="-last_seen",
        description="last_seen or created; a leading '-' sorts newest first.",
    )
    cursor: str | None = Field(
        default=None,
        max_length=300,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="next_cursor of the previous page, unchanged.",
    )
    limit: int = Field(default=50, ge=1, le=200, description="Profiles per page.")


def list_profiles(request: Request, workspace_id: str, query: ProfileQuery) -> dict[str, Any]:
    """A page of profiles; ``data`` holds summaries, ``next_cursor`` the next page or null."""
    container = request.app.state.container
    engine: Engine = container.engine
    key = container.vault.search_key(workspace_id)
    catch_up(engine, key, workspace_id)
    with engine.connect() as conn:
        filters = ProfileFilters(
            touchpoint=query.touchpoint,
            last_seen_after_ms=_ms(query.last_seen_after),
            last_seen_before_ms=_ms(query.last_seen_before),
            marketing_suppressed=query.marketing_suppressed,
            open_review=query.open_review,
            within=_within(conn, workspace_id, query),
        )
        page = search_profiles(
            conn, key, workspace_id, query.q or "", filters, query.sort, query.cursor, query.limit
        )
    return page.as_dict()


def _within(conn: Connection, workspace_id: str, query: ProfileQuery) -> frozenset[str] | None:
    """The live profiles the other rooms' filters allow (None: no such filter)."""
    sets: list[set[str]] = []
    if query.audience is not None:
        sets.append(_audience(conn, workspace_id, query.audience))
    if query.role is not None:
        scoring = profiles_scoring(conn, workspace_id, query.role, query.min_score)
        sets.append(roots_of(conn, workspace_id, scoring))
    if query.consent is not None:
        purpose, channel, state = query.consent.split(":")
        held = profiles_with_consent(conn, workspace_id, purpose, channel, state)  # type: ignore[arg-type]
        sets.append(roots_of(conn, workspace_id, held))
    if not sets:
        return None
    return frozenset(set.intersection(*sets))


def _audience(conn: Connection, workspace_id: str, audience_id: str) -> set[str]:
    out: set[str] = set()
    after = ""
    while len(out) < AUDIENCE_CAP:
        page = members(conn, workspace_id, audience_id, limit=10_000, after=after)
        ids = [m["profile_id"] for m in page["data"]]
        out.update(ids)
        if len(ids) < 10_000:
            break
        after = ids[-1]
    return out


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
