"""``/api/v1/profiles`` and ``/api/v1/identity``: profiles, merges, splits, the review queue.

Every query is scoped to the key's workspace: an id from another workspace is "not found".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from crmos.api.auth import AdminKey, ReadKey
from crmos.api.params import IDENTIFIER_PATTERN
from crmos.api.problems import answers
from crmos.api.routes.profile_search import ProfileQuery, list_profiles
from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import IdentitySettings
from crmos.identity import (
    get_review,
    list_reviews,
    merge_profiles,
    normalised,
    profile_of,
    profile_view,
    resolve_review,
    split_profile,
)
from crmos.identity.config import effective_config, set_workspace_config, workspace_override
from crmos.identity.views import list_conflicts, list_rejections

router = APIRouter(prefix="/api/v1", tags=["identity"])


class MergeBody(BaseModel):
    """Merge two profiles: ``other_id`` joins ``survivor_id``."""

    survivor_id: str = Field(min_length=1, max_length=40, description="Profile that stays.")
    other_id: str = Field(min_length=1, max_length=40, description="Profile merged into it.")
    reason: str = Field(min_length=1, max_length=200, description="Why, in words.")
    evidence: dict[str, Any] = Field(default={}, description="What supports the merge.")


class SplitBody(BaseModel):
    """Undo a merge."""

    reason: str = Field(min_length=1, max_length=500, description="Why the merge was wrong.")
    merge_id: str | None = Field(
        default=None,
        description="Merge to undo (default: the one that absorbed the profile, "
        "or the latest merge into it).",
    )


class ResolveBody(BaseModel):
    """Close a review ticket."""

    decision: Literal["resolve", "approve", "reject"] = Field(
        description="conflict tickets: resolve; match tickets: approve (merge) or reject."
    )
    note: str = Field(default="", max_length=1000, description="Why, for the record.")


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.container.engine
    return engine


def _settings(request: Request) -> IdentitySettings:
    settings: IdentitySettings = request.app.state.container.settings.identity
    return settings


@router.get("/profiles/{profile_id}", summary="A profile: identities, traits, merges, flags")
def get_profile(request: Request, key: ReadKey, profile_id: str) -> dict[str, Any]:
    """The profile (a merged id shows its surviving profile, with ``requested_id``)."""
    with _engine(request).connect() as conn:
        return profile_view(conn, key.workspace_id, profile_id)


@router.get(
    "/profiles",
    summary="List and search profiles, or find one by identifier",
    responses=answers(404),  # an audience filter naming no audience of the workspace
)
def find_profiles(
    request: Request,
    key: ReadKey,
    search: Annotated[ProfileQuery, Query()],
    identifier: str | None = Query(
        default=None,
        pattern=IDENTIFIER_PATTERN,
        max_length=500,
        description="TYPE:VALUE, e.g. email:alice@example.com (normalised before look-up). "
        "When given, the answer is the profile holding it and the other parameters are ignored.",
    ),
) -> dict[str, Any]:
    """With ``identifier``: ``data`` holds the profile holding it, or nothing. Otherwise a page
    of live profiles matching ``q`` and the filters, with ``next_cursor`` for the next page."""
    if identifier is None:
        return list_profiles(request, key.workspace_id, search)
    kind, sep, value = identifier.partition(":")
    if not sep or not kind or not value:
        problem = Problem("identifier", f"'{identifier}' is not TYPE:VALUE")
        raise ValidationError("malformed identifier", [problem])
    with _engine(request).connect() as conn:
        ident = normalised(conn, key.workspace_id, kind, value, _settings(request))
        pid = profile_of(conn, key.workspace_id, ident.type, ident.value)
        data = [profile_view(conn, key.workspace_id, pid)] if pid else []
    return {"identifier": str(ident), "data": data}


@router.post(
    "/profiles/merge", summary="Merge two profiles (a recorded decision)", responses=answers(404)
)
def merge(request: Request, key: AdminKey, body: MergeBody) -> dict[str, Any]:
    """Merge ``other_id`` into ``survivor_id``; returns the decision id and the profile."""
    with _engine(request).begin() as conn:
        merge_id = merge_profiles(
            conn,
            key.workspace_id,
            body.survivor_id,
            body.other_id,
            reason=body.reason,
            evidence=body.evidence,
            actor=f"key:{key.id}",
            settings=_settings(request),
        )
        return {
            "merge_id": merge_id,
            "profile": profile_view(conn, key.workspace_id, body.survivor_id),
        }


@router.post("/profiles/{profile_id}/split", summary="Undo a merge")
def split(request: Request, key: AdminKey, profile_id: str, body: SplitBody) -> dict[str, Any]:
    """Restore a merged profile with its own identifiers, events and traits."""
    with _engine(request).begin() as conn:
        result = split_profile(
            conn,
            key.workspace_id,
            profile_id,
            reason=body.reason,
            merge_id=body.merge_id,
            actor=f"key:{key.id}",
            settings=_settings(request),
        )
        return {
            "split": result.as_dict(),
            "survivor": profile_view(conn, key.workspace_id, result.survivor_id),
            "restored": profile_view(conn, key.workspace_id, result.restored_id),
        }


@router.get("/identity/review", summary="The review queue")
def review_queue(
    request: Request,
    key: ReadKey,
    kind: Literal["conflict", "match"] | None = None,
    status: Literal["open", "resolved", "approved", "rejected", "all"] = "open",
    after: str | None = Query(default=None, description="Page: the last id seen."),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Conflict tickets and match suggestions, oldest first."""
    with _engine(request).connect() as conn:
        data = list_reviews(
            conn,
            key.workspace_id,
            kind=kind,
            status=None if status == "all" else status,
            limit=limit,
            after=after,
        )
    return {"data": data, "next_after": data[-1]["id"] if data else after}


@router.get("/identity/review/{review_id}", summary="One review ticket")
def review(request: Request, key: ReadKey, review_id: str) -> dict[str, Any]:
    """The ticket with its evidence."""
    with _engine(request).connect() as conn:
        return get_review(conn, key.workspace_id, review_id)


@router.post("/identity/review/{review_id}/resolve", summary="Close a review ticket")
def resolve(request: Request, key: AdminKey, review_id: str, body: ResolveBody) -> dict[str, Any]:
    """Resolve a conflict (lifts its marketing pause), approve or reject a match."""
    with _engine(request).begin() as conn:
        return resolve_review(
            conn,
            key.workspace_id,
            review_id,
            decision=body.decision,
            note=body.note,
            actor=f"key:{key.id}",
            settings=_settings(request),
        )


@router.get("/identity/conflicts", summary="Identifier conflicts")
def conflicts(
    request: Request,
    key: ReadKey,
    identifier: str | None = Query(
        default=None, pattern=IDENTIFIER_PATTERN, max_length=500, description="TYPE:VALUE."
    ),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Refused links (limits, accounts) with their evidence, newest first."""
    with _engine(request).connect() as conn:
        ident = None
        if identifier is not None:
            kind, _, value = identifier.partition(":")
            ident = normalised(conn, key.workspace_id, kind, value, _settings(request))
        return {"data": list_conflicts(conn, key.workspace_id, ident, limit)}


@router.get("/identity/rejections", summary="Identifiers that failed normalisation")
def rejections(
    request: Request, key: ReadKey, limit: int = Query(default=100, ge=1, le=1000)
) -> dict[str, Any]:
    """Malformed identifiers with the reason, newest first."""
    with _engine(request).connect() as conn:
        return {"data": list_rejections(conn, key.workspace_id, limit)}


@router.get("/identity/config", summary="Identity settings of the workspace")
def get_config(request: Request, key: ReadKey) -> dict[str, Any]:
    """The workspace's override and the settings in force."""
    with _engine(request).connect() as conn:
        return {
            "override": workspace_override(conn, key.workspace_id),
            "effective": effective_config(conn, key.workspace_id, _settings(request)),
        }


@router.patch("/identity/config", summary="Change identity settings of the workspace")
def patch_config(request: Request, key: AdminKey, body: dict[str, Any]) -> dict[str, Any]:
    """Merge ``body`` into the override (a null removes a key); applies to new events."""
    with _engine(request).begin() as conn:
        override = set_workspace_config(conn, key.workspace_id, body, settings=_settings(request))
        return {
            "override": override,
            "effective": effective_config(conn, key.workspace_id, _settings(request)),
        }
