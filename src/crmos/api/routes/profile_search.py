"""``GET /api/v1/profiles`` without ``identifier``: list and search live profiles.

The listing itself, shared with the console and the CLI, is :mod:`crmos.profile_listing`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from crmos.api.params import Moment
from crmos.identity import ProfileFilters
from crmos.profile_listing import (
    SORT_HELP,
    ListSort,
    OtherFilters,
    epoch_ms,
    find_profiles,
    parse_consent,
    with_values,
)


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
    clv_min: float | None = Field(
        default=None,
        ge=0,
        description="Only profiles whose predicted customer lifetime value is at least this.",
    )
    clv_max: float | None = Field(
        default=None,
        ge=0,
        description="Only profiles whose predicted customer lifetime value is at most this.",
    )
    churn_min: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Only profiles whose churn likelihood is at least this.",
    )
    churn_max: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Only profiles whose churn likelihood is at most this.",
    )
    sort: ListSort = Field(default="-last_seen", description=SORT_HELP)
    cursor: str | None = Field(
        default=None,
        max_length=300,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="next_cursor of the previous page, unchanged.",
    )
    limit: int = Field(default=50, ge=1, le=200, description="Profiles per page.")


def list_profiles(request: Request, workspace_id: str, query: ProfileQuery) -> dict[str, Any]:
    """A page of profiles; ``data`` holds summaries with their predicted ``clv`` and ``churn``
    (null until the analytics room scored them), ``next_cursor`` the next page or null."""
    container = request.app.state.container
    filters = ProfileFilters(
        touchpoint=query.touchpoint,
        last_seen_after_ms=epoch_ms(query.last_seen_after),
        last_seen_before_ms=epoch_ms(query.last_seen_before),
        marketing_suppressed=query.marketing_suppressed,
        open_review=query.open_review,
    )
    others = OtherFilters(
        query.audience, query.role, query.min_score, parse_consent(query.consent),
        query.clv_min, query.clv_max, query.churn_min, query.churn_max,
    )  # fmt: skip
    page = find_profiles(
        container.engine, container.vault, workspace_id, query.q or "", filters, others,
        query.sort, query.cursor, query.limit,
    )  # fmt: skip
    return with_values(container.engine, workspace_id, page)
