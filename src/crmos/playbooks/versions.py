"""Published versions: immutable snapshots by content hash, and what was in force when.

Publishing stores the file as written under its hash (never changed afterwards) and appends an
activation; ``rollback`` appends an activation of the previous version. The version in force at
a moment is the latest activation at or before it, so any past logic can be replayed exactly.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Row, and_, func, select

from crmos.core.errors import Conflict, NotFound
from crmos.playbooks.spec import Playbook
from crmos.store import append_audit
from crmos.store.dialect import insert_ignore
from crmos.store.tables_playbooks import playbook_activations as act
from crmos.store.tables_playbooks import playbook_versions as ver


@dataclass(frozen=True, slots=True)
class Version:
    """One published version of a playbook, and when it was put in force."""

    workspace_id: str
    playbook_id: str
    hash: str
    author: str
    comment: str
    created_ms: int
    source: str
    activated_ms: int | None = None

    def as_dict(self, with_source: bool = False) -> dict[str, object]:
        """JSON-ready form."""
        out: dict[str, object] = {
            "playbook_id": self.playbook_id,
            "hash": self.hash,
            "author": self.author,
            "comment": self.comment,
            "created_ms": self.created_ms,
            "activated_ms": self.activated_ms,
        }
        if with_source:
            out["source"] = self.source
        return out


def publish(
    conn: Connection, workspace_id: str, playbook: Playbook, author: str, comment: str, now_ms: int
) -> Version:
    """Snapshot ``playbook`` and put it in force; publishing what is in force is refused."""
    current = in_force(conn, workspace_id, playbook.id, now_ms)
    if current is not None and current.hash == playbook.hash:
        raise Conflict("playbook version", playbook.hash[:12], "it is already in force")
    row = {
        "workspace_id": workspace_id,
        "hash": playbook.hash,
        "playbook_id": playbook.id,
        "source": playbook.source,
        "author": author,
        "comment": comment,
        "created_ms": now_ms,
    }
    conn.execute(insert_ignore(conn.engine, ver).values(**row))
    _activate(conn, workspace_id, playbook.id, playbook.hash, author, comment, now_ms, "publish")
    found = in_force(conn, workspace_id, playbook.id, now_ms)
    assert found is not None
    return found


def rollback(
    conn: Connection,
    workspace_id: str,
    playbook_id: str,
    author: str,
    now_ms: int,
    check: Callable[[Version], None] | None = None,
) -> Version:
    """Put back the version that was in force before the current one; ``check`` may refuse
    it (by raising) before anything changes."""
    found_all = history(conn, workspace_id, playbook_id)
    current = in_force(conn, workspace_id, playbook_id, now_ms)
    earlier = [v for v in found_all if current is None or v.hash != current.hash]
    if not earlier:
        raise Conflict("playbook", playbook_id, "it has no earlier version to roll back to")
    if check is not None:
        check(earlier[-1])
    target = earlier[-1].hash
    comment = f"rollback to {target[:12]}"
    _activate(conn, workspace_id, playbook_id, target, author, comment, now_ms, "rollback")
    found = in_force(conn, workspace_id, playbook_id, now_ms)
    assert found is not None
    return found


def deactivate(
    conn: Connection, workspace_id: str, playbook_id: str, author: str, now_ms: int
) -> None:
    """Stop the playbook (its versions stay, for replay and audit)."""
    if in_force(conn, workspace_id, playbook_id, now_ms) is None:
        raise NotFound("active playbook", playbook_id)
    _activate(conn, workspace_id, playbook_id, None, author, "deactivated", now_ms, "deactivate")


def _activate(
    conn: Connection,
    workspace_id: str,
    playbook_id: str,
    hash_: str | None,
    author: str,
    comment: str,
    now_ms: int,
    action: str,
) -> None:
    conn.execute(
        act.insert().values(
            workspace_id=workspace_id,
            playbook_id=playbook_id,
            hash=hash_,
            at_ms=now_ms,
            author=author,
            comment=comment,
            action=action,
        )
    )
    details = {"hash": hash_, "comment": comment}
    append_audit(conn, workspace_id, author, f"playbook.{action}", playbook_id, details)


def in_force(conn: Connection, workspace_id: str, playbook_id: str, at_ms: int) -> Version | None:
    """The version in force at ``at_ms`` (``None`` before the first publish or when stopped)."""
    stmt = (
        select(act.c.hash, act.c.at_ms)
        .where(act.c.workspace_id == workspace_id, act.c.playbook_id == playbook_id)
        .where(act.c.at_ms <= at_ms)
        .order_by(act.c.at_ms.desc(), act.c.id.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    if row is None or row.hash is None:
        return None
    return _version(conn, workspace_id, row.hash, row.at_ms)


def all_in_force(conn: Connection, at_ms: int, workspace_id: str | None = None) -> list[Version]:
    """Every playbook in force at ``at_ms`` (of one workspace, or all)."""
    latest = select(act.c.workspace_id, act.c.playbook_id, func.max(act.c.id).label("last"))
    latest = latest.where(act.c.at_ms <= at_ms)
    if workspace_id is not None:
        latest = latest.where(act.c.workspace_id == workspace_id)
    sub = latest.group_by(act.c.workspace_id, act.c.playbook_id).subquery()
    stmt = (
        select(ver, act.c.at_ms.label("activated_ms"))
        .select_from(sub.join(act, act.c.id == sub.c.last))
        .join(ver, and_(ver.c.workspace_id == act.c.workspace_id, ver.c.hash == act.c.hash))
        .order_by(act.c.workspace_id, act.c.playbook_id)
    )
    return [_from_row(r, r.activated_ms) for r in conn.execute(stmt)]


def history(conn: Connection, workspace_id: str, playbook_id: str) -> list[Version]:
    """Every published version of a playbook, oldest first."""
    stmt = (
        select(ver)
        .where(ver.c.workspace_id == workspace_id, ver.c.playbook_id == playbook_id)
        .order_by(ver.c.created_ms, ver.c.hash)
    )
    return [_from_row(r, None) for r in conn.execute(stmt)]


def find_version(conn: Connection, workspace_id: str, ref: str) -> Version:
    """A version by its hash or a unique prefix of it (at least 6 characters)."""
    if len(ref) < 6:
        raise NotFound("playbook version", f"{ref} (give at least 6 characters of the hash)")
    stmt = select(ver).where(ver.c.workspace_id == workspace_id, ver.c.hash.like(f"{ref}%"))
    rows = conn.execute(stmt.limit(2)).all()
    if len(rows) != 1:
        raise NotFound("playbook version", ref if not rows else f"{ref} (ambiguous)")
    return _from_row(rows[0], None)


def diff(older: Version, newer: Version) -> str:
    """A unified diff of two versions' files."""
    lines = difflib.unified_diff(
        older.source.splitlines(keepends=True),
        newer.source.splitlines(keepends=True),
        fromfile=f"{older.playbook_id}@{older.hash[:12]}",
        tofile=f"{newer.playbook_id}@{newer.hash[:12]}",
    )
    return "".join(lines)


def _version(conn: Connection, workspace_id: str, hash_: str, at_ms: int) -> Version:
    row = conn.execute(
        select(ver).where(ver.c.workspace_id == workspace_id, ver.c.hash == hash_)
    ).one()
    return _from_row(row, at_ms)


def _from_row(row: Row[tuple[object, ...]], activated_ms: int | None) -> Version:
    m = row._mapping
    return Version(
        str(m["workspace_id"]),
        str(m["playbook_id"]),
        str(m["hash"]),
        str(m["author"]),
        str(m["comment"]),
        int(m["created_ms"]),
        str(m["source"]),
        activated_ms,
    )
