"""Stores each workspace's compliance settings; reads are cached briefly for the intake path."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from crmos.compliance.config import ComplianceConfig, parse_config
from crmos.compliance.packbook import PackBook
from crmos.compliance.registry import PackRegistry
from crmos.core.clock import Clock, to_ms, utcnow
from crmos.store import append_audit
from crmos.store.tables_compliance import compliance_settings, pack_versions

CACHE_SECONDS = 2.0


class SettingsStore:
    """Reads and changes workspace compliance settings; every change is audited."""

    def __init__(self, engine: Engine, book: PackBook, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._book = book
        self._clock = clock
        self._cache: dict[str, tuple[float, ComplianceConfig]] = {}
        self._lock = threading.Lock()

    @property
    def registry(self) -> PackRegistry:
        """The registry of installed packs."""
        return self._book.registry

    def get(self, workspace_id: str) -> ComplianceConfig:
        """The workspace's settings (defaults when never set), cached for a few seconds."""
        now = time.monotonic()
        hit = self._cache.get(workspace_id)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        with self._engine.connect() as conn:
            config, _ = self.read(conn, workspace_id)
        with self._lock:
            self._cache[workspace_id] = (now, config)
        return config

    def read(self, conn: Connection, workspace_id: str) -> tuple[ComplianceConfig, int]:
        """The settings and their version (0: never set), read inside ``conn``."""
        return read_versioned(conn, workspace_id)

    def known_packs(self, conn: Connection, workspace_id: str) -> list[str]:
        """Packs a workspace may enable: every registered one and every one it published."""
        published = conn.execute(
            select(pack_versions.c.pack)
            .where(pack_versions.c.workspace_id == workspace_id)
            .distinct()
        ).scalars()
        return sorted({*self._book.registry.names(), *published})

    def put(self, workspace_id: str, data: dict[str, Any], actor: str) -> ComplianceConfig:
        """Replace the settings with ``data`` (validated whole); enables packs; audited."""
        now_ms = to_ms(self._clock())
        with self._engine.begin() as conn:
            config = parse_config(data, self.known_packs(conn, workspace_id))
            before, version = self.read(conn, workspace_id)
            body = config.model_dump_json()
            values = {"config": body, "version": version + 1, "updated_ms": now_ms}
            if version:
                conn.execute(
                    compliance_settings.update()
                    .where(compliance_settings.c.workspace_id == workspace_id)
                    .values(**values)
                )
            else:
                conn.execute(
                    compliance_settings.insert().values(workspace_id=workspace_id, **values)
                )
            self._book.ensure(conn, workspace_id, config.packs, actor, now_ms)
            details = {"version": version + 1, "changed": _changed(before, config)}
            append_audit(conn, workspace_id, actor, "compliance.settings.update", None, details)
        with self._lock:
            self._cache.pop(workspace_id, None)
        return config

    def patch(self, workspace_id: str, changes: dict[str, Any], actor: str) -> ComplianceConfig:
        """Change some settings, keeping the others."""
        with self._engine.connect() as conn:
            current, _ = self.read(conn, workspace_id)
        return self.put(workspace_id, {**current.model_dump(), **changes}, actor)


def _changed(before: ComplianceConfig, after: ComplianceConfig) -> list[str]:
    old, new = before.model_dump(), after.model_dump()
    return sorted(k for k in new if old.get(k) != new[k])


def read_versioned(conn: Connection, workspace_id: str) -> tuple[ComplianceConfig, int]:
    """A workspace's settings and their version (0: never set, defaults)."""
    row = conn.execute(
        select(compliance_settings).where(compliance_settings.c.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        return ComplianceConfig(), 0
    return ComplianceConfig.model_validate(orjson.loads(row.config)), int(row.version)


def read_config(conn: Connection, workspace_id: str) -> ComplianceConfig:
    """A workspace's settings (defaults when never set)."""
    return read_versioned(conn, workspace_id)[0]
