"""Reading profiles: resolve an identifier or an id, and show a profile whole.

A profile's view gathers its merge tree: identifiers, events and traits of every profile merged
into it, the merge decisions with their evidence, conflicts, and the marketing-suppressed flag.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, or_, select

from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import IdentitySettings
from crmos.identity import repo
from crmos.identity.identifiers import Identifier, normalise
from crmos.store.tables_identity import (
    identity_conflicts,
    identity_merges,
    identity_rejections,
    identity_reviews,
    profile_events,
    profile_identifiers,
    profiles,
)

HISTORY = 50


def profile_of(
    conn: Connection,
    workspace_id: str,
    identifier_type: str,
    value: str,
    *,
    settings: IdentitySettings | None = None,
) -> str | None:
    """The live profile holding an identifier (``value`` is normalised first), or ``None``.

    Raises ``ValidationError`` for an unknown type or a value that does not normalise.
    """
    key = normalised(conn, workspace_id, identifier_type, value, settings)
    i, p = profile_identifiers.c, profiles.c
    stmt = (
        select(p.root_id)
        .select_from(profile_identifiers.join(profiles, p.id == i.profile_id))
        .where(i.workspace_id == workspace_id, i.type == key.type, i.value == key.value)
    )
    root = conn.execute(stmt).scalar_one_or_none()
    return None if root is None else str(root)


def normalised(
    conn: Connection,
    workspace_id: str,
    kind: str,
    value: str,
    settings: IdentitySettings | None = None,
) -> Identifier:
    """``kind:value`` in canonical form under the workspace's policy; ``ValidationError``."""
    policy = repo.policy_for(conn, workspace_id, settings)
    if kind not in policy.types:
        valid = ", ".join(sorted(policy.types))
        raise ValidationError(
            "unknown identifier type", [Problem("identifier", f"'{kind}'; valid: {valid}")]
        )
    try:
        return Identifier(kind, normalise(kind, value, policy.region))
    except ValueError as exc:
        problem = Problem("identifier", f"{kind} '{value}' {exc}")
        raise ValidationError("malformed identifier", [problem]) from exc


def profile_view(conn: Connection, workspace_id: str, profile_id: str) -> dict[str, Any]:
    """Everything about a profile (``profile_id`` may be merged: its survivor is shown)."""
    requested = repo.profile_row(conn, workspace_id, profile_id)
    root = repo.profile_row(conn, workspace_id, requested.root_id)
    tree = [pid for pid, _ in repo.members(conn, root.id)]
    view = repo.loads(root.traits)
    reviews = _open_reviews(conn, workspace_id, tree)
    return {
        "id": root.id,
        "requested_id": profile_id,
        "workspace_id": workspace_id,
        "merged_ids": tree[1:],
        "identifiers": _identifiers(conn, tree),
        "traits": {name: entry[0] for name, entry in view.items()},
        "trait_sources": {name: {"source": e[1], "at_ms": e[2]} for name, e in view.items()},
        "trait_history": _history(conn, tree),
        "merges": merges_of(conn, workspace_id, tree),
        "conflicts": _conflicts(conn, workspace_id, tree),
        "flags": {
            "marketing_suppressed": _suppressed(conn, tree),
            "open_reviews": reviews,
        },
        "events": _events(conn, tree),
        "created_ms": root.created_ms,
        "updated_ms": root.updated_ms,
    }


def _identifiers(conn: Connection, tree: list[str]) -> list[dict[str, Any]]:
    t = profile_identifiers.c
    rows: list[Any] = []
    for part in repo.chunks(tree):
        rows += conn.execute(select(profile_identifiers).where(t.profile_id.in_(part))).all()
    rows.sort(key=lambda r: (r.type, r.created_ms, r.value))
    return [
        {
            "type": r.type,
            "value": r.value,
            "source": r.source,
            "first_seen_ms": r.created_ms,
            "via": r.profile_id,
        }
        for r in rows
    ]


def _history(conn: Connection, tree: list[str]) -> list[dict[str, Any]]:
    t = profile_events.c
    stmt = (
        select(t.seq, t.profile_id, t.source, t.ts_ms, t.traits)
        .where(t.profile_id.in_(tree), t.traits.is_not(None))
        .order_by(t.seq.desc())
        .limit(HISTORY)
    )
    return [
        {"seq": r.seq, "via": r.profile_id, "source": r.source, "ts_ms": r.ts_ms}
        | {"traits": repo.loads(r.traits)}
        for r in conn.execute(stmt)
    ]


def merges_of(conn: Connection, workspace_id: str, tree: list[str]) -> list[dict[str, Any]]:
    """Merge decisions that touch the profiles in ``tree`` (split ones too), oldest first."""
    m = identity_merges.c
    stmt = (
        select(identity_merges)
        .where(m.workspace_id == workspace_id)
        .where(or_(m.survivor_id.in_(tree), m.other_id.in_(tree)))
        .order_by(m.created_ms, m.id)
    )
    return [merge_dict(r) for r in conn.execute(stmt)]


def merge_dict(r: Any) -> dict[str, Any]:
    """A merge decision row as JSON-ready data."""
    return {
        "id": r.id,
        "survivor_id": r.survivor_id,
        "other_id": r.other_id,
        "reason": r.reason,
        "evidence": repo.loads(r.evidence),
        "actor": r.actor,
        "created_ms": r.created_ms,
        "split_ms": r.split_ms,
        "split_reason": r.split_reason,
        "split_by": r.split_by,
        "active": r.split_ms is None,
    }


def _conflicts(conn: Connection, workspace_id: str, tree: list[str]) -> list[dict[str, Any]]:
    c = identity_conflicts.c
    stmt = (
        select(identity_conflicts)
        .where(c.workspace_id == workspace_id)
        .where(or_(c.owner_id.in_(tree), c.claimant_id.in_(tree)))
        .order_by(c.id.desc())
        .limit(HISTORY)
    )
    return [conflict_dict(r) for r in conn.execute(stmt)]


def conflict_dict(r: Any) -> dict[str, Any]:
    """A conflict row as JSON-ready data."""
    return {
        "id": r.id,
        "kind": r.kind,
        "identifier": f"{r.identifier_type}:{r.identifier_value}",
        "owner_id": r.owner_id,
        "owner_account": r.owner_account,
        "owner_source": r.owner_source,
        "claimant_id": r.claimant_id,
        "claimant_account": r.claimant_account,
        "source": r.source,
        "seq": r.seq,
        "evidence": repo.loads(r.evidence),
        "created_ms": r.created_ms,
    }


def _suppressed(conn: Connection, tree: list[str]) -> bool:
    p = profiles.c
    stmt = select(func.count()).where(p.id.in_(tree), p.marketing_suppressed.is_(True))
    return bool(conn.execute(stmt).scalar_one())


def _open_reviews(conn: Connection, workspace_id: str, tree: list[str]) -> list[str]:
    r = identity_reviews.c
    # Profile ids are unique ULIDs, so a substring test on the JSON list narrows exactly.
    stmt = select(r.id, r.subject_profiles).where(
        r.workspace_id == workspace_id,
        r.status == "open",
        or_(*(r.subject_profiles.contains(pid) for pid in tree)),
    )
    members = set(tree)
    return [
        row.id
        for row in conn.execute(stmt.order_by(r.created_ms))
        if members & set(repo.loads(row.subject_profiles))
    ]


def _events(conn: Connection, tree: list[str]) -> dict[str, Any]:
    t = profile_events.c
    count, first, last = conn.execute(
        select(func.count(), func.min(t.ts_ms), func.max(t.ts_ms)).where(t.profile_id.in_(tree))
    ).one()
    return {"count": int(count), "first_ms": first, "last_ms": last}


def list_conflicts(
    conn: Connection,
    workspace_id: str,
    identifier: Identifier | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Recent conflicts of the workspace (of one identifier, if given), newest first."""
    c = identity_conflicts.c
    stmt = select(identity_conflicts).where(c.workspace_id == workspace_id)
    if identifier is not None:
        stmt = stmt.where(
            c.identifier_type == identifier.type, c.identifier_value == identifier.value
        )
    return [conflict_dict(r) for r in conn.execute(stmt.order_by(c.id.desc()).limit(limit))]


def list_rejections(conn: Connection, workspace_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """Recent identifiers that failed normalisation, newest first, with the reason."""
    r = identity_rejections.c
    stmt = (
        select(identity_rejections)
        .where(r.workspace_id == workspace_id)
        .order_by(r.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": row.id,
            "type": row.type,
            "value": row.value,
            "reason": row.reason,
            "path": row.path,
            "source": row.source,
            "seq": row.seq,
            "created_ms": row.created_ms,
        }
        for row in conn.execute(stmt)
    ]
