"""Complaints and their response SLA, due in the responsible team's business time.

The strictest governing pack decides: a complaint from Germany falls under GDPR (30 days) and
the EU DSA (6 business hours), so it is due in 6 business hours of the complaint team.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from crmos.compliance.config import ComplianceConfig
from crmos.compliance.packbook import in_force, mark_enforced
from crmos.compliance.ports import DueTime
from crmos.compliance.regions import regions_for
from crmos.core.errors import NotFound
from crmos.core.ids import new_id
from crmos.store import append_audit
from crmos.store.dialect import insert_ignore
from crmos.store.tables_compliance import complaints

DEFAULT_HOURS = 720.0
AT_RISK_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint and when its answer is due."""

    id: str
    profile_id: str
    message_id: str
    region: str
    pack: str
    pack_version: str
    team: str
    received_ms: int
    due_ms: int
    answered_ms: int | None

    def status(self, now_ms: int) -> str:
        """``answered``, ``answered_late``, ``open``, ``at_risk`` or ``breached``."""
        if self.answered_ms is not None:
            return "answered" if self.answered_ms <= self.due_ms else "answered_late"
        if now_ms > self.due_ms:
            return "breached"
        left = self.due_ms - now_ms
        return "at_risk" if left <= (self.due_ms - self.received_ms) * AT_RISK_SHARE else "open"

    def breached(self, now_ms: int) -> bool:
        """Answered late, or still open past its due time."""
        return self.status(now_ms) in ("breached", "answered_late")

    def as_dict(self, now_ms: int) -> dict[str, Any]:
        """JSON-ready data with the SLA status at ``now_ms``."""
        return {
            "id": self.id,
            "profile_id": self.profile_id,
            "message_id": self.message_id,
            "region": self.region,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "team": self.team,
            "received_ms": self.received_ms,
            "due_ms": self.due_ms,
            "answered_ms": self.answered_ms,
            "status": self.status(now_ms),
            "breached": self.breached(now_ms),
        }


def record_complaint(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    message_id: str,
    received_ms: int,
    config: ComplianceConfig,
    due: DueTime,
    team: str | None = None,
    decided_ms: int | None = None,
) -> Complaint | None:
    """Record a complaint with its due time (None when this event was already recorded).

    The SLA runs from ``received_ms`` (when the person complained); the packs are those in
    force at ``decided_ms`` (when crmos handles it, default the same).
    """
    regions = regions_for(conn, workspace_id, profile_id, config.default_region)
    team_name = team if team in config.teams else config.complaint_team
    calendar = config.team(team_name)
    options: list[tuple[int, str, str, str]] = []
    versions = in_force(conn, workspace_id, config.packs, decided_ms or received_ms)
    for version in versions.values():
        sla = version.spec.complaints
        region = next((r for r in regions if version.spec.governs(r)), None)
        if sla is not None and region is not None:
            at = due(calendar, received_ms, sla.hours, sla.business_hours)
            options.append((at, version.pack, version.version, region))
    if not options:
        at = due(calendar, received_ms, DEFAULT_HOURS, False)
        options.append((at, "none", "-", regions[0] if regions else "unknown"))
    due_ms, pack, pack_version, region = min(options)
    item = Complaint(
        new_id("cmp_"),
        profile_id,
        message_id,
        region,
        pack,
        pack_version,
        team_name,
        received_ms,
        due_ms,
        None,
    )
    values = {k: v for k, v in item.as_dict(received_ms).items() if k in complaints.c}
    done = conn.execute(
        insert_ignore(conn.engine, complaints).values(workspace_id=workspace_id, **values)
    ).rowcount
    if not done:
        return None
    mark_enforced(conn, [v for v in versions.values() if v.pack == pack], decided_ms or received_ms)
    details = {"complaint": item.id, "pack": pack, "version": pack_version, "due_ms": due_ms}
    append_audit(conn, workspace_id, "compliance.stream", "complaint.received", profile_id, details)
    return item


def answer_complaint(
    conn: Connection, workspace_id: str, complaint_id: str, actor: str, now_ms: int
) -> Complaint:
    """Mark a complaint answered; audited."""
    done = conn.execute(
        update(complaints)
        .where(complaints.c.workspace_id == workspace_id, complaints.c.id == complaint_id)
        .where(complaints.c.answered_ms.is_(None))
        .values(answered_ms=now_ms)
    ).rowcount
    if not done:
        raise NotFound("unanswered complaint", complaint_id)
    item = next(c for c in list_complaints(conn, workspace_id) if c.id == complaint_id)
    details = {"complaint": complaint_id, "on_time": now_ms <= item.due_ms}
    append_audit(conn, workspace_id, actor, "complaint.answered", item.profile_id, details)
    return item


def list_complaints(conn: Connection, workspace_id: str, limit: int = 10_000) -> list[Complaint]:
    """Complaints of a workspace, soonest due first."""
    rows = conn.execute(
        select(complaints)
        .where(complaints.c.workspace_id == workspace_id)
        .order_by(complaints.c.due_ms)
        .limit(limit)
    ).all()
    return [
        Complaint(
            r.id,
            r.profile_id,
            r.message_id,
            r.region,
            r.pack,
            r.pack_version,
            r.team,
            r.received_ms,
            r.due_ms,
            r.answered_ms,
        )
        for r in rows
    ]
