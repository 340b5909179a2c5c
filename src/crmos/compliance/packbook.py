"""Pack versions per workspace: what was in force when, and how soon a change was enforced.

Changing a pack is publishing a new version with an effective time. The first decision that
applies a version stamps ``enforced_ms``, so the time from publishing a change to its
enforcement is measured, not assumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, select, update

from crmos.compliance.pack import PackSpec, pack_from_data
from crmos.compliance.registry import PackRegistry
from crmos.core.errors import Conflict
from crmos.core.ids import new_id
from crmos.store import append_audit
from crmos.store.tables_compliance import pack_versions


@dataclass(frozen=True, slots=True)
class PackVersion:
    """One stored version of a pack in a workspace."""

    id: str
    workspace_id: str
    pack: str
    version: str
    content_hash: str
    effective_ms: int
    published_ms: int
    enforced_ms: int | None
    published_by: str
    spec: PackSpec

    @property
    def publish_to_enforcement_ms(self) -> int | None:
        """From publishing (or the effective time, if later) to the first decision applying it."""
        if self.enforced_ms is None:
            return None
        return max(0, self.enforced_ms - max(self.published_ms, self.effective_ms))

    def summary(self) -> dict[str, object]:
        """The version as JSON-ready data, without the spec."""
        return {
            "pack": self.pack,
            "version": self.version,
            "content_hash": self.content_hash,
            "effective_ms": self.effective_ms,
            "published_ms": self.published_ms,
            "enforced_ms": self.enforced_ms,
            "publish_to_enforcement_ms": self.publish_to_enforcement_ms,
            "published_by": self.published_by,
        }


# A stored version never changes, so its parsed spec can be cached by id for good.
_SPECS: dict[str, PackSpec] = {}


class PackBook:
    """Reads and writes ``pack_versions`` for the packs of ``registry``."""

    def __init__(self, registry: PackRegistry) -> None:
        self.registry = registry

    def ensure(
        self, conn: Connection, workspace_id: str, names: Iterable[str], actor: str, now_ms: int
    ) -> list[PackVersion]:
        """Store the shipped version of each enabled pack the workspace never had."""
        have = set(
            conn.execute(
                select(pack_versions.c.pack).where(pack_versions.c.workspace_id == workspace_id)
            ).scalars()
        )
        return [
            self.publish(conn, workspace_id, self.registry.get(n), now_ms, actor, now_ms)
            for n in names
            if n not in have
        ]

    def publish(
        self,
        conn: Connection,
        workspace_id: str,
        spec: PackSpec,
        effective_ms: int,
        actor: str,
        now_ms: int,
    ) -> PackVersion:
        """Store ``spec`` as a new version in force from ``effective_ms``; audited.

        Publishing the same version again with the same content is a no-op; with other content
        it is a :class:`Conflict` (a version, once published, never changes).
        """
        held = self._one(conn, workspace_id, spec.id, spec.version)
        if held is not None:
            if held.content_hash == spec.content_hash():
                return held
            raise Conflict(
                "pack version", f"{spec.id} {spec.version}", "publish it under a new version"
            )
        row = {
            "id": new_id("pkv_"),
            "workspace_id": workspace_id,
            "pack": spec.id,
            "version": spec.version,
            "content_hash": spec.content_hash(),
            "spec": spec.canonical(),
            "effective_ms": effective_ms,
            "published_ms": now_ms,
            "enforced_ms": None,
            "published_by": actor,
        }
        conn.execute(pack_versions.insert().values(**row))
        details = {k: row[k] for k in ("pack", "version", "content_hash", "effective_ms")}
        append_audit(conn, workspace_id, actor, "compliance.pack.publish", str(row["id"]), details)
        return _version(row)

    def in_force(
        self, conn: Connection, workspace_id: str, names: Iterable[str], at_ms: int
    ) -> dict[str, PackVersion]:
        """The version of each pack in ``names`` in force at ``at_ms``."""
        return in_force(conn, workspace_id, names, at_ms)

    def mark_enforced(self, conn: Connection, versions: Iterable[PackVersion], now_ms: int) -> None:
        """Stamp the first enforcement of each version that has none yet."""
        mark_enforced(conn, versions, now_ms)

    def history(
        self, conn: Connection, workspace_id: str, pack: str | None = None
    ) -> list[PackVersion]:
        """Every stored version of the workspace (of one pack), oldest first."""
        stmt = select(pack_versions).where(pack_versions.c.workspace_id == workspace_id)
        if pack is not None:
            stmt = stmt.where(pack_versions.c.pack == pack)
        rows = conn.execute(stmt.order_by(pack_versions.c.published_ms)).mappings()
        return [_version(dict(r)) for r in rows]

    def _one(
        self, conn: Connection, workspace_id: str, pack: str, version: str
    ) -> PackVersion | None:
        row = (
            conn.execute(
                select(pack_versions).where(
                    pack_versions.c.workspace_id == workspace_id,
                    pack_versions.c.pack == pack,
                    pack_versions.c.version == version,
                )
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else _version(dict(row))


def _int(value: object) -> int:
    return int(str(value))


def in_force(
    conn: Connection, workspace_id: str, names: Iterable[str], at_ms: int
) -> dict[str, PackVersion]:
    """The version of each pack in ``names`` in force at ``at_ms`` (packs with none omitted)."""
    wanted = list(names)
    if not wanted:
        return {}
    rows = conn.execute(
        select(pack_versions)
        .where(pack_versions.c.workspace_id == workspace_id)
        .where(pack_versions.c.pack.in_(wanted))
        .where(pack_versions.c.effective_ms <= at_ms)
        .order_by(pack_versions.c.effective_ms.desc(), pack_versions.c.published_ms.desc())
    ).mappings()
    found: dict[str, PackVersion] = {}
    for row in rows:
        if row["pack"] not in found:
            found[row["pack"]] = _version(dict(row))
    return found


def mark_enforced(conn: Connection, versions: Iterable[PackVersion], now_ms: int) -> None:
    """Stamp the first enforcement of each version that has none yet (caller's transaction)."""
    ids = [v.id for v in versions if v.enforced_ms is None]
    if ids:
        conn.execute(
            update(pack_versions)
            .where(pack_versions.c.id.in_(ids), pack_versions.c.enforced_ms.is_(None))
            .values(enforced_ms=now_ms)
        )


def _version(row: dict[str, object]) -> PackVersion:
    key = str(row["id"])
    spec = _SPECS.get(key)
    if spec is None:
        spec = pack_from_data(orjson.loads(str(row["spec"])), f"stored pack {key}")
        _SPECS[key] = spec
    return PackVersion(
        id=key,
        workspace_id=str(row["workspace_id"]),
        pack=str(row["pack"]),
        version=str(row["version"]),
        content_hash=str(row["content_hash"]),
        effective_ms=_int(row["effective_ms"]),
        published_ms=_int(row["published_ms"]),
        enforced_ms=None if row["enforced_ms"] is None else _int(row["enforced_ms"]),
        published_by=str(row["published_by"]),
        spec=spec,
    )
