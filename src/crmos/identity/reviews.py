"""The identity review queue: conflict tickets (scenario 6) and batch-match suggestions.

A conflict ticket pauses marketing to its profiles until it is resolved. A match suggestion is
approved (the profiles merge, as a decision) or rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, select, update

from crmos.core.errors import NotFound, Problem, ValidationError
from crmos.core.ids import new_id
from crmos.core.settings import IdentitySettings
from crmos.identity import repo
from crmos.identity.merges import merge_profiles
from crmos.identity.policy import IdentityPolicy
from crmos.store import Decision, append_audit, record_decision
from crmos.store.tables_identity import identity_conflicts, identity_reviews, profiles

ReviewKind = Literal["conflict", "match"]
KINDS: tuple[str, ...] = ("conflict", "match")
DECISIONS = {"conflict": ("resolve",), "match": ("approve", "reject")}
STATUS_OF = {"resolve": "resolved", "approve": "approved", "reject": "rejected"}


def open_review(
    conn: Connection,
    workspace_id: str,
    kind: str,
    subject_profiles: Sequence[str],
    evidence: dict[str, Any],
    *,
    identifier: tuple[str, str] | None = None,
    score: float | None = None,
) -> str:
    """Open a review ticket; returns its id. A ``conflict`` ticket pauses marketing to its
    profiles (``marketing_suppressed``) until resolved.

    Raises ``ValidationError`` for an unknown kind or no profiles, ``NotFound`` for a profile
    outside the workspace.
    """
    if kind not in KINDS:
        raise ValidationError(
            "bad review", [Problem("kind", f"'{kind}'; valid: {', '.join(KINDS)}")]
        )
    subjects = list(dict.fromkeys(subject_profiles))
    if not subjects:
        raise ValidationError("bad review", [Problem("subject_profiles", "name at least one")])
    for pid in subjects:
        repo.profile_row(conn, workspace_id, pid)
    review_id = new_id("rev_")
    conn.execute(
        identity_reviews.insert().values(
            id=review_id,
            workspace_id=workspace_id,
            kind=kind,
            status="open",
            subject_profiles=repo.dumps(subjects),
            identifier_type=identifier[0] if identifier else None,
            identifier_value=identifier[1] if identifier else None,
            score=score,
            evidence=repo.dumps(evidence),
            created_ms=repo.now_ms(),
        )
    )
    if kind == "conflict":
        _suppress(conn, subjects, True)
    return review_id


def resolve_review(
    conn: Connection,
    workspace_id: str,
    review_id: str,
    *,
    decision: str,
    note: str = "",
    actor: str = "api",
    settings: IdentitySettings | None = None,
) -> dict[str, Any]:
    """Close a ticket: ``resolve`` a conflict (lifts its marketing pause), ``approve`` a match
    (merges its profiles, survivor first) or ``reject`` it. Returns the closed ticket.
    """
    row = _row(conn, workspace_id, review_id)
    valid = DECISIONS[row.kind]
    if decision not in valid:
        problem = Problem(
            "decision", f"'{decision}' for a {row.kind} ticket; valid: {', '.join(valid)}"
        )
        raise ValidationError("bad decision", [problem])
    if row.status != "open":
        problem = Problem("review_id", f"ticket '{review_id}' is already {row.status}")
        raise ValidationError("ticket closed", [problem])
    subjects: list[str] = repo.loads(row.subject_profiles)
    merge_id = None
    if decision == "approve":
        merge_id = _approve(conn, workspace_id, row, subjects, settings)
    values: dict[str, Any] = {"status": STATUS_OF[decision], "decision": decision}
    values |= {"note": note[:1000], "actor": actor[:200], "resolved_ms": repo.now_ms()}
    if merge_id is not None:
        values["evidence"] = repo.dumps({**repo.loads(row.evidence), "merge_id": merge_id})
    conn.execute(update(identity_reviews).where(identity_reviews.c.id == row.id).values(values))
    if row.kind == "conflict":
        still = _still_paused(conn, workspace_id, row.id)
        _suppress(conn, [pid for pid in subjects if pid not in still], False)
    details = {"decision": decision, "note": note[:1000], "merge_id": merge_id}
    append_audit(conn, workspace_id, actor, f"identity.review.{decision}", row.id, details)
    return review_dict(_row(conn, workspace_id, review_id))


def _approve(
    conn: Connection,
    workspace_id: str,
    row: Any,
    subjects: list[str],
    settings: IdentitySettings | None,
) -> str | None:
    merge_id = None
    for pid in subjects[1:]:
        root = repo.root_of(conn, workspace_id, pid)
        if root == repo.root_of(conn, workspace_id, subjects[0]):
            continue  # already one profile
        evidence = {"review_id": row.id, "score": row.score, **repo.loads(row.evidence)}
        merge_id = merge_profiles(
            conn,
            workspace_id,
            subjects[0],
            root,
            reason="match approved",
            evidence=evidence,
            actor=f"review:{row.id}",
            settings=settings,
        )
    return merge_id


def list_reviews(
    conn: Connection,
    workspace_id: str,
    *,
    kind: str | None = None,
    status: str | None = "open",
    limit: int = 100,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """Tickets of the workspace, oldest first; page with ``after`` = the last id."""
    r = identity_reviews.c
    stmt = select(identity_reviews).where(r.workspace_id == workspace_id)
    if kind is not None:
        stmt = stmt.where(r.kind == kind)
    if status is not None:
        stmt = stmt.where(r.status == status)
    if after is not None:
        stmt = stmt.where(r.id > after)
    return [review_dict(row) for row in conn.execute(stmt.order_by(r.id).limit(limit))]


def get_review(conn: Connection, workspace_id: str, review_id: str) -> dict[str, Any]:
    """One ticket; ``NotFound`` outside the workspace."""
    return review_dict(_row(conn, workspace_id, review_id))


def review_dict(r: Any) -> dict[str, Any]:
    """A ticket row as JSON-ready data."""
    identifier = f"{r.identifier_type}:{r.identifier_value}" if r.identifier_type else None
    return {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "subject_profiles": repo.loads(r.subject_profiles),
        "identifier": identifier,
        "score": r.score,
        "evidence": repo.loads(r.evidence),
        "created_ms": r.created_ms,
        "resolved_ms": r.resolved_ms,
        "decision": r.decision,
        "note": r.note,
        "actor": r.actor,
    }


def _row(conn: Connection, workspace_id: str, review_id: str) -> Any:
    r = identity_reviews.c
    row = conn.execute(
        select(identity_reviews).where(r.id == review_id, r.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        raise NotFound("review ticket", review_id)
    return row


def _suppress(conn: Connection, profile_ids: Iterable[str], on: bool) -> None:
    ids = sorted(profile_ids)
    if ids:
        p = profiles.c
        conn.execute(update(profiles).where(p.id.in_(ids)).values(marketing_suppressed=on))


def _still_paused(conn: Connection, workspace_id: str, closing: str) -> set[str]:
    """Profiles named by other open conflict tickets: their pause stays."""
    r = identity_reviews.c
    rows = conn.execute(
        select(r.subject_profiles).where(
            r.workspace_id == workspace_id,
            r.kind == "conflict",
            r.status == "open",
            r.id != closing,
        )
    ).scalars()
    return {pid for text in rows for pid in repo.loads(text)}


def repair_conflicts(
    conn: Connection, workspace_id: str, policy: IdentityPolicy, keys: Iterable[tuple[str, str]]
) -> list[str]:
    """Scenario 6: open (or widen) a conflict ticket for each identifier now claimed by
    profiles of ``policy.min_accounts`` accounts from ``policy.min_sources`` sources.
    """
    opened = []
    for kind, value in sorted(set(keys)):
        claims = _claims(conn, workspace_id, kind, value)
        if len(claims["accounts"]) < policy.min_accounts:
            continue
        if len(claims["sources"]) < policy.min_sources:
            continue
        review_id = _ticket_for(conn, workspace_id, (kind, value), claims, policy.version)
        if review_id is not None:
            opened.append(review_id)
    return opened


def _claims(conn: Connection, workspace_id: str, kind: str, value: str) -> dict[str, Any]:
    c = identity_conflicts.c
    rows = conn.execute(
        select(identity_conflicts)
        .where(c.workspace_id == workspace_id, c.identifier_type == kind)
        .where(c.identifier_value == value)
        .order_by(c.id)
    ).all()
    profiles_: list[str] = []
    for r in rows:
        profiles_ += [pid for pid in (r.owner_id, r.claimant_id) if pid and pid not in profiles_]
    accounts = {a for r in rows for a in (r.owner_account, r.claimant_account) if a}
    sources = {s for r in rows for s in (r.owner_source, r.source) if s}
    return {
        "profiles": profiles_,
        "accounts": sorted(accounts),
        "sources": sorted(sources),
        "conflicts": [r.id for r in rows],
    }


def _ticket_for(
    conn: Connection,
    workspace_id: str,
    key: tuple[str, str],
    claims: dict[str, Any],
    version: str,
) -> str | None:
    r = identity_reviews.c
    tickets = conn.execute(
        select(identity_reviews)
        .where(r.workspace_id == workspace_id, r.kind == "conflict")
        .where(r.identifier_type == key[0], r.identifier_value == key[1])
        .order_by(r.created_ms.desc(), r.id.desc())
    ).all()
    evidence = {"identifier": f"{key[0]}:{key[1]}", **claims}
    evidence["rule"] = "identifier claimed by profiles of several accounts from several sources"
    latest = tickets[0] if tickets else None
    if latest is not None and latest.status == "open":
        conn.execute(
            update(identity_reviews)
            .where(r.id == latest.id)
            .values(subject_profiles=repo.dumps(claims["profiles"]), evidence=repo.dumps(evidence))
        )
        _suppress(conn, claims["profiles"], True)
        return None
    known = set(repo.loads(latest.evidence).get("accounts", [])) if latest is not None else None
    if known is not None and set(claims["accounts"]) <= known:
        return None  # resolved already, and no account has joined since
    review_id = open_review(
        conn, workspace_id, "conflict", claims["profiles"], evidence, identifier=key
    )
    record_decision(conn, _ticket_decision(workspace_id, review_id, evidence, version))
    return review_id


def _ticket_decision(
    workspace_id: str, review_id: str, evidence: dict[str, Any], version: str
) -> Decision:
    """The decision record of an automatically opened conflict ticket."""
    subjects = evidence["profiles"]
    return Decision(
        workspace_id=workspace_id,
        kind="identity.conflict_review",
        rule="identity.conflict_repair",
        version=version,
        reason=f"{evidence['identifier']} is claimed by profiles of {len(evidence['accounts'])} "
        f"accounts from {len(evidence['sources'])} sources; marketing to them is paused",
        subject_profile_id=subjects[0],
        inputs=evidence,
        actions=[
            {"action": "open_review", "review_id": review_id},
            {"action": "suppress_marketing", "profiles": subjects},
        ],
    )
