"""Identity's change feed: every merge and split, as facts numbered by a sequence.

Other rooms that keep data per profile (graph's edges, audiences) follow identity by reading the
facts after the last number they applied: :func:`changes_since`. Numbers come from
``identity_changes.seq``, which is never given twice (SQLite AUTOINCREMENT, a PostgreSQL
sequence), and every writer appends its facts while holding the workspace's identity lock
(``repo.lock_workspace``, taken first by the stitcher, merges, splits and erasure), so within a
workspace the numbers are in commit order: a reader that keeps the highest number it has read,
per workspace, never skips a fact that commits later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from crmos.store.tables_identity import identity_changes

_c = identity_changes.c
MERGED, SPLIT = "merge", "split"


@dataclass(frozen=True, slots=True)
class ProfilesMerged:
    """``other_id``'s merge tree now resolves to ``survivor_id``."""

    seq: int
    workspace_id: str
    merge_id: str
    survivor_id: str
    other_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class ProfileSplit:
    """A merge was undone: ``restored_id``'s subtree left ``survivor_id``'s tree."""

    seq: int
    workspace_id: str
    merge_id: str
    survivor_id: str
    restored_id: str
    at_ms: int


IdentityChange = ProfilesMerged | ProfileSplit


def record_merges(conn: Connection, merges: Iterable[tuple[str, str, str, str, int]]) -> None:
    """Append a fact per (workspace, merge id, survivor, other, time), in order. The caller
    holds the workspace's identity lock (see the module's docstring)."""
    rows = [
        {"workspace_id": ws, "kind": MERGED, "merge_id": mid}
        | {"survivor_id": survivor, "other_id": other, "at_ms": at}
        for ws, mid, survivor, other, at in merges
    ]
    if rows:
        conn.execute(identity_changes.insert(), rows)


def record_split(
    conn: Connection, workspace_id: str, merge_id: str, survivor_id: str, restored_id: str, at: int
) -> None:
    """Append the fact that ``merge_id`` was undone; the caller holds the workspace's lock."""
    conn.execute(
        identity_changes.insert().values(
            workspace_id=workspace_id, kind=SPLIT, merge_id=merge_id,
            survivor_id=survivor_id, other_id=restored_id, at_ms=at,
        )
    )  # fmt: skip


def changes_since(
    conn: Connection, workspace_id: str, after: int, limit: int = 1000
) -> list[IdentityChange]:
    """The workspace's merges and splits numbered above ``after``, oldest first, at most
    ``limit``. Keep the last ``seq`` read and pass it next time: nothing is skipped."""
    rows = conn.execute(
        select(identity_changes)
        .where(_c.workspace_id == workspace_id, _c.seq > after)
        .order_by(_c.seq)
        .limit(limit)
    ).all()
    return [_change(r) for r in rows]


def forget_changes(conn: Connection, workspace_id: str, profile_ids: Iterable[str]) -> int:
    """Delete the facts naming any of ``profile_ids`` (erasure); how many."""
    ids = sorted(set(profile_ids))
    gone = 0
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        gone += conn.execute(
            delete(identity_changes).where(
                _c.workspace_id == workspace_id,
                _c.survivor_id.in_(part) | _c.other_id.in_(part),
            )
        ).rowcount
    return gone


def _change(r: object) -> IdentityChange:
    row = r._mapping  # type: ignore[attr-defined]
    if row["kind"] == SPLIT:
        return ProfileSplit(
            int(row["seq"]), row["workspace_id"], row["merge_id"],
            row["survivor_id"], row["other_id"], int(row["at_ms"]),
        )  # fmt: skip
    return ProfilesMerged(
        int(row["seq"]), row["workspace_id"], row["merge_id"],
        row["survivor_id"], row["other_id"], int(row["at_ms"]),
    )  # fmt: skip
