"""The compliance room as the composition root builds it: one object holding its parts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crmos.compliance import complaints as complaint_book
from crmos.compliance import requests as request_book
from crmos.compliance.consent import check_marketing, record_consent
from crmos.compliance.consumer import ComplianceConsumer
from crmos.compliance.dsr import DsrService
from crmos.compliance.heatmap import heatmap
from crmos.compliance.intake import IntakeValidator
from crmos.compliance.model import Verdict
from crmos.compliance.pack import PackSpec
from crmos.compliance.packbook import PackBook, PackVersion
from crmos.compliance.ports import DueTime, LetterRenderer, calendar_time
from crmos.compliance.registry import PackRegistry, PackSource
from crmos.compliance.requests import DsrRequest, LegalHold
from crmos.compliance.settings_store import SettingsStore
from crmos.compliance.worker import DsrWorker
from crmos.core.clock import Clock, to_ms, utcnow
from crmos.core.datamap import Room
from crmos.core.settings import Settings
from crmos.ingest import EventReader, IngestService
from crmos.store import Vault, append_audit, sqlite_path


class Compliance:
    """Packs, settings, consent, data-subject requests, complaints and the heatmap."""

    def __init__(
        self,
        engine: Engine,
        vault: Vault,
        reader: EventReader,
        roots: Sequence[Path],
        *,
        letters: LetterRenderer | None = None,
        due: DueTime = calendar_time,
        packs: dict[str, PackSource] | None = None,
        clock: Clock = utcnow,
        rooms: Sequence[Room] = (),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.registry = PackRegistry(packs)
        self.book = PackBook(self.registry)
        self.settings = SettingsStore(engine, self.book, clock)
        self.dsr = DsrService(engine, vault, reader, self.settings, roots, letters, clock, rooms)
        self.worker = DsrWorker(self.dsr)
        self.due = due
        self.consumer = ComplianceConsumer(self.settings, self.dsr, due, self.worker.notify)
        self.validator = IntakeValidator(self.settings)

    def connect(self, intake: IngestService) -> None:
        """Give rectification the process's intake (built after this room: it uses
        :attr:`validator`), so corrected traits are validated like any other event."""
        self.dsr.connect(intake)

    def now_ms(self) -> int:
        """The current time in epoch ms."""
        return to_ms(self.clock())

    def publish(
        self, workspace_id: str, spec: PackSpec, effective_ms: int | None, actor: str
    ) -> PackVersion:
        """Publish a pack version for a workspace (in force from ``effective_ms``, or now)."""
        now = self.now_ms()
        with self.engine.begin() as conn:
            return self.book.publish(conn, workspace_id, spec, effective_ms or now, actor, now)

    def versions(self, workspace_id: str, pack: str | None = None) -> list[PackVersion]:
        """Every pack version of a workspace (of one pack), oldest first."""
        with self.engine.connect() as conn:
            return self.book.history(conn, workspace_id, pack)

    def in_force(self, workspace_id: str, at_ms: int | None = None) -> dict[str, PackVersion]:
        """The enabled packs' versions in force at ``at_ms`` (default now)."""
        config = self.settings.get(workspace_id)
        with self.engine.connect() as conn:
            return self.book.in_force(conn, workspace_id, config.packs, at_ms or self.now_ms())

    def check_marketing(
        self, workspace_id: str, profile_id: str, purpose: str, channel: str
    ) -> Verdict:
        """:func:`crmos.compliance.check_marketing` in its own transaction."""
        with self.engine.begin() as conn:
            return check_marketing(conn, workspace_id, profile_id, purpose, channel)

    def consent(self, workspace_id: str, profile_id: str, **fields: Any) -> dict[str, Any]:
        """Record a consent statement; returns it as data."""
        with self.engine.begin() as conn:
            return record_consent(conn, workspace_id, profile_id, **fields).as_dict()

    def complaints(self, workspace_id: str) -> list[dict[str, Any]]:
        """Complaints with their SLA status now, soonest due first."""
        now = self.now_ms()
        with self.engine.connect() as conn:
            return [c.as_dict(now) for c in complaint_book.list_complaints(conn, workspace_id)]

    def answer(self, workspace_id: str, complaint_id: str, actor: str) -> dict[str, Any]:
        """Mark a complaint answered."""
        now = self.now_ms()
        with self.engine.begin() as conn:
            item = complaint_book.answer_complaint(conn, workspace_id, complaint_id, actor, now)
        return item.as_dict(now)

    def hold(self, workspace_id: str, profile_id: str, reason: str, actor: str) -> dict[str, Any]:
        """Place a legal hold on a profile."""
        with self.engine.begin() as conn:
            self.dsr.directory.by_profile(conn, workspace_id, profile_id)
            held = request_book.place_hold(
                conn, workspace_id, profile_id, reason, actor, self.now_ms()
            )
        return held.as_dict()

    def holds(self, workspace_id: str, profile_id: str | None = None) -> list[LegalHold]:
        """Legal holds of a workspace (of one profile), oldest first."""
        with self.engine.connect() as conn:
            return request_book.holds_of(conn, workspace_id, profile_id)

    def request(self, workspace_id: str, request_id: str) -> DsrRequest:
        """One data-subject request of the workspace."""
        with self.engine.connect() as conn:
            return request_book.get_request(conn, workspace_id, request_id)

    def requests(
        self, workspace_id: str, status: str | None = None, limit: int = 100
    ) -> list[DsrRequest]:
        """Data-subject requests, newest first."""
        with self.engine.connect() as conn:
            return request_book.list_requests(conn, workspace_id, status, limit=limit)

    def release(self, workspace_id: str, hold_id: str, actor: str) -> dict[str, Any]:
        """Release a legal hold."""
        with self.engine.begin() as conn:
            held = request_book.release_hold(conn, workspace_id, hold_id, actor, self.now_ms())
        return held.as_dict()

    def audit(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        subject: str | None,
        details: dict[str, Any],
    ) -> int:
        """Append an administrative change to the workspace's audit chain; returns its position."""
        with self.engine.begin() as conn:
            return append_audit(conn, workspace_id, actor, action, subject, details)

    def heatmap(self, workspace_id: str) -> dict[str, Any]:
        """Heatmap data now."""
        with self.engine.connect() as conn:
            return heatmap(conn, workspace_id, self.now_ms())


def data_roots(settings: Settings) -> list[Path]:
    """Directories whose files an erasure scan reads: the home and the embedded database's."""
    roots = [settings.home]
    database = sqlite_path(settings.store.url)
    if database is not None:
        roots.append(database.parent)
    return roots
