"""Explicit merges and splits of profiles, each recorded as a decision with its evidence.

A merge links the other profile's whole merge tree under the survivor; a split cuts one link
again: the profiles below it take back the identifiers, events and traits they brought.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from crmos.core.errors import NotFound, Problem, ValidationError
from crmos.core.ids import new_id
from crmos.core.settings import IdentitySettings
from crmos.identity import repo
from crmos.identity.changes import record_merges, record_split
from crmos.identity.policy import IdentityPolicy
from crmos.identity.search_index import mark_pending
from crmos.identity.traits import combine, replay
from crmos.store import Decision, append_audit, record_decision
from crmos.store.tables_identity import identity_merges, profiles


@dataclass(frozen=True, slots=True)
class SplitResult:
    """What a split undid: the merge, the profile that stays and the one restored."""

    merge_id: str
    survivor_id: str
    restored_id: str
    identifiers_restored: int
    events_restored: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "merge_id": self.merge_id,
            "survivor_id": self.survivor_id,
            "restored_id": self.restored_id,
            "identifiers_restored": self.identifiers_restored,
            "events_restored": self.events_restored,
        }


def merge_profiles(
    conn: Connection,
    workspace_id: str,
    survivor_id: str,
    other_id: str,
    *,
    reason: str,
    evidence: dict[str, Any],
    actor: str = "api",
    settings: IdentitySettings | None = None,
) -> str:
    """Merge ``other_id``'s profile into ``survivor_id``'s; returns the merge decision id.

    Either id may be a profile that was merged before: each resolves to its live profile.
    Raises ``NotFound`` for an id outside the workspace and ``ValidationError`` for an empty
    reason, evidence that is not JSON, or two ids that already resolve to one profile.
    """
    text = _checked(reason, evidence)
    repo.lock_workspace(conn, workspace_id)
    survivor = repo.profile_row(conn, workspace_id, repo.root_of(conn, workspace_id, survivor_id))
    other = repo.profile_row(conn, workspace_id, repo.root_of(conn, workspace_id, other_id))
    if survivor.id == other.id:
        problem = Problem("other_id", f"'{other_id}' already resolves to profile '{survivor.id}'")
        raise ValidationError("nothing to merge", [problem])
    policy = repo.policy_for(conn, workspace_id, settings)
    traits = combine(policy, repo.loads(survivor.traits), repo.loads(other.traits))
    merge_id, at = new_id("mrg_"), repo.now_ms()
    link_profiles(conn, merge_id, survivor.id, other.id, repo.dumps(traits))
    mark_pending(conn, workspace_id, (survivor.id, other.id))
    conn.execute(
        identity_merges.insert().values(
            id=merge_id,
            workspace_id=workspace_id,
            survivor_id=survivor.id,
            other_id=other.id,
            reason=reason[:200],
            evidence=text,
            actor=actor[:200],
            created_ms=at,
        )
    )
    record_merges(conn, [(workspace_id, merge_id, survivor.id, other.id, at)])
    record_decision(
        conn,
        merge_decision(
            workspace_id, merge_id, survivor.id, other.id, reason, evidence, policy.version
        ),
    )
    append_audit(conn, workspace_id, actor, "identity.merge", survivor.id, {"merge_id": merge_id})
    return merge_id


def merge_decision(
    workspace_id: str,
    merge_id: str,
    survivor_id: str,
    other_id: str,
    reason: str,
    evidence: dict[str, Any],
    version: str,
    event_ids: tuple[str, ...] = (),
) -> Decision:
    """The decision record of a merge (it shares the merge's id)."""
    return Decision(
        workspace_id=workspace_id,
        kind="identity.merge",
        rule="identity.merge",
        version=version,
        reason=reason,
        subject_profile_id=survivor_id,
        inputs=evidence,
        event_ids=event_ids,
        actions=[{"action": "merge", "other_id": other_id, "survivor_id": survivor_id}],
        id=merge_id,
    )


def _checked(reason: str, evidence: dict[str, Any]) -> str:
    if not reason.strip():
        raise ValidationError("merge needs a reason", [Problem("reason", "must not be empty")])
    try:
        return orjson.dumps(evidence).decode()
    except TypeError as exc:
        raise ValidationError("evidence must be JSON", [Problem("evidence", str(exc))]) from exc


def link_profiles(
    conn: Connection, merge_id: str, survivor_id: str, other_id: str, traits: str
) -> None:
    """Write a merge into the profile rows: ``other_id``'s tree now resolves to the survivor."""
    now = repo.now_ms()
    p = profiles.c
    conn.execute(update(profiles).where(p.root_id == other_id).values(root_id=survivor_id))
    conn.execute(
        update(profiles)
        .where(p.id == other_id)
        .values(merged_into=survivor_id, merge_id=merge_id, updated_ms=now)
    )
    conn.execute(update(profiles).where(p.id == survivor_id).values(traits=traits, updated_ms=now))


def split_profile(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    *,
    reason: str,
    merge_id: str | None = None,
    actor: str = "api",
    settings: IdentitySettings | None = None,
) -> SplitResult:
    """Undo a merge. ``profile_id`` is a merged-away profile (its merge is undone) or a live one
    (``merge_id``, else its latest merge, is undone). ``ValidationError`` when there is none.
    """
    if not reason.strip():
        raise ValidationError("split needs a reason", [Problem("reason", "must not be empty")])
    repo.lock_workspace(conn, workspace_id)
    row = repo.profile_row(conn, workspace_id, profile_id)
    merge = _merge_to_undo(conn, workspace_id, row, merge_id)
    restored = _cut(conn, row.root_id, merge, repo.policy_for(conn, workspace_id, settings))
    mark_pending(conn, workspace_id, {row.root_id, *restored})
    at = repo.now_ms()
    conn.execute(
        update(identity_merges)
        .where(identity_merges.c.id == merge.id)
        .values(split_ms=at, split_reason=reason[:500], split_by=actor[:200])
    )
    record_split(conn, workspace_id, merge.id, row.root_id, merge.other_id, at)
    result = SplitResult(
        merge.id,
        row.root_id,
        merge.other_id,
        repo.count_identifiers(conn, restored),
        repo.count_events(conn, restored),
    )
    details = result.as_dict() | {"reason": reason}
    append_audit(conn, workspace_id, actor, "identity.split", merge.other_id, details)
    return result


def _cut(conn: Connection, root_id: str, merge: Any, policy: IdentityPolicy) -> set[str]:
    """Detach ``merge.other_id``'s subtree from ``root_id``'s tree; recompute both sides' traits.

    Returns the restored profiles.
    """
    tree = repo.members(conn, root_id)
    restored = repo.subtree(tree, merge.other_id)
    kept = {pid for pid, _ in tree} - restored
    p, now = profiles.c, repo.now_ms()
    conn.execute(update(profiles).where(p.id.in_(sorted(restored))).values(root_id=merge.other_id))
    conn.execute(
        update(profiles).where(p.id == merge.other_id).values(merged_into=None, merge_id=None)
    )
    for root, side in ((root_id, kept), (merge.other_id, restored)):
        traits = replay(policy, repo.statements(conn, side))
        conn.execute(
            update(profiles).where(p.id == root).values(traits=repo.dumps(traits), updated_ms=now)
        )
    return restored


def _merge_to_undo(conn: Connection, workspace_id: str, row: Any, merge_id: str | None) -> Any:
    m = identity_merges.c
    active = select(identity_merges).where(m.workspace_id == workspace_id, m.split_ms.is_(None))
    if merge_id is not None:
        merge = conn.execute(active.where(m.id == merge_id)).one_or_none()
        if merge is None:
            raise NotFound("active merge", merge_id)
        if repo.root_of(conn, workspace_id, merge.other_id) != row.root_id:
            problem = Problem("merge_id", f"merge '{merge_id}' is not part of profile '{row.id}'")
            raise ValidationError("cannot split", [problem])
        return merge
    if row.merge_id is not None:
        return conn.execute(active.where(m.id == row.merge_id)).one()
    tree = [pid for pid, _ in repo.members(conn, row.id)]
    latest = conn.execute(
        active.where(m.survivor_id.in_(tree)).order_by(m.created_ms.desc(), m.id.desc()).limit(1)
    ).one_or_none()
    if latest is None:
        problem = Problem("profile_id", f"profile '{row.id}' was never merged; nothing to split")
        raise ValidationError("cannot split", [problem])
    return latest
