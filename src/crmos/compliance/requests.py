"""Data-subject requests as stored records, and legal holds (the table side, no orchestration)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from crmos.compliance.pack import REQUEST_KINDS
from crmos.core.errors import NotFound, Problem, ValidationError
from crmos.core.ids import new_id
from crmos.store import append_audit
from crmos.store.tables_compliance import dsr_requests, legal_holds

OPEN = ("received",)


@dataclass(frozen=True, slots=True)
class DsrRequest:
    """A data-subject request and, once run, its report and letters."""

    id: str
    workspace_id: str
    profile_id: str
    kind: str
    status: str
    origin: str
    regions: tuple[str, ...]
    packs: dict[str, str]
    locale: str
    received_ms: int
    due_ms: int
    params: dict[str, Any] = field(default_factory=dict)
    completed_ms: int | None = None
    reason: str | None = None
    report: dict[str, Any] | None = None
    letters: dict[str, Any] | None = None

    def as_dict(self, with_letters: bool = False) -> dict[str, Any]:
        """JSON-ready data (letters only when asked: they are long)."""
        out: dict[str, Any] = {
            "id": self.id,
            "profile_id": self.profile_id,
            "kind": self.kind,
            "status": self.status,
            "origin": self.origin,
            "regions": list(self.regions),
            "packs": self.packs,
            "locale": self.locale,
            "received_ms": self.received_ms,
            "due_ms": self.due_ms,
            "completed_ms": self.completed_ms,
            "reason": self.reason,
            "report": self.report,
        }
        if with_letters:
            out["letters"] = self.letters
        return out


@dataclass(frozen=True, slots=True)
class LegalHold:
    """A reason the law requires keeping a person's data: it blocks erasure while active."""

    id: str
    profile_id: str
    reason: str
    placed_by: str
    placed_ms: int
    released_ms: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "profile_id": self.profile_id,
            "reason": self.reason,
            "placed_by": self.placed_by,
            "placed_ms": self.placed_ms,
            "released_ms": self.released_ms,
            "active": self.released_ms is None,
        }


def check_kind(kind: str) -> None:
    """Refuse an unknown request kind, naming the valid ones."""
    if kind not in REQUEST_KINDS:
        message = f"unknown request kind '{kind}'; use one of {', '.join(REQUEST_KINDS)}"
        raise ValidationError("request rejected", [Problem("kind", message)])


def insert_request(conn: Connection, request: DsrRequest, actor: str) -> None:
    """Store a new request and audit its reception."""
    conn.execute(
        dsr_requests.insert().values(
            id=request.id,
            workspace_id=request.workspace_id,
            profile_id=request.profile_id,
            kind=request.kind,
            status=request.status,
            origin=request.origin,
            regions=",".join(request.regions),
            packs=_dumps(request.packs),
            locale=request.locale,
            params=_dumps(request.params),
            received_ms=request.received_ms,
            due_ms=request.due_ms,
        )
    )
    details = {
        "request": request.id,
        "kind": request.kind,
        "origin": request.origin,
        "packs": request.packs,
        "due_ms": request.due_ms,
    }
    append_audit(conn, request.workspace_id, actor, "dsr.received", request.profile_id, details)


def finish_request(
    conn: Connection,
    request: DsrRequest,
    status: str,
    completed_ms: int | None,
    reason: str | None,
    report: dict[str, Any] | None,
    letters: dict[str, Any] | None,
) -> DsrRequest:
    """Store a request's outcome."""
    conn.execute(
        update(dsr_requests)
        .where(dsr_requests.c.id == request.id)
        .values(
            status=status,
            completed_ms=completed_ms,
            reason=reason,
            report=None if report is None else _dumps(report),
            letters=None if letters is None else _dumps(letters),
        )
    )
    return get_request(conn, request.workspace_id, request.id)


def get_request(conn: Connection, workspace_id: str, request_id: str) -> DsrRequest:
    """One request of the workspace; :class:`NotFound` otherwise."""
    row = conn.execute(
        select(dsr_requests).where(
            dsr_requests.c.workspace_id == workspace_id, dsr_requests.c.id == request_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("data-subject request", request_id)
    return _request(row)


def list_requests(
    conn: Connection,
    workspace_id: str,
    status: str | None = None,
    profile_id: str | None = None,
    limit: int = 100,
) -> list[DsrRequest]:
    """Requests of a workspace, newest first."""
    stmt = select(dsr_requests).where(dsr_requests.c.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(dsr_requests.c.status == status)
    if profile_id:
        stmt = stmt.where(dsr_requests.c.profile_id == profile_id)
    rows = conn.execute(stmt.order_by(dsr_requests.c.received_ms.desc()).limit(limit)).all()
    return [_request(r) for r in rows]


def pending_ids(conn: Connection, limit: int = 20) -> list[tuple[str, str]]:
    """(workspace, id) of requests waiting to run, oldest first, across workspaces."""
    rows = conn.execute(
        select(dsr_requests.c.workspace_id, dsr_requests.c.id)
        .where(dsr_requests.c.status.in_(OPEN))
        .order_by(dsr_requests.c.received_ms)
        .limit(limit)
    ).all()
    return [(r.workspace_id, r.id) for r in rows]


def place_hold(
    conn: Connection, workspace_id: str, profile_id: str, reason: str, actor: str, now_ms: int
) -> LegalHold:
    """Place a legal hold on a profile; audited."""
    if not reason.strip():
        raise ValidationError("legal hold rejected", [Problem("reason", "say why (the law)")])
    hold = LegalHold(new_id("hld_"), profile_id, reason.strip(), actor, now_ms, None)
    conn.execute(
        legal_holds.insert().values(
            id=hold.id,
            workspace_id=workspace_id,
            profile_id=profile_id,
            reason=hold.reason,
            placed_by=actor,
            placed_ms=now_ms,
        )
    )
    details = {"hold": hold.id, "reason": hold.reason}
    append_audit(conn, workspace_id, actor, "legal_hold.place", profile_id, details)
    return hold


def release_hold(
    conn: Connection, workspace_id: str, hold_id: str, actor: str, now_ms: int
) -> LegalHold:
    """Release a legal hold; audited."""
    done = conn.execute(
        update(legal_holds)
        .where(legal_holds.c.workspace_id == workspace_id, legal_holds.c.id == hold_id)
        .where(legal_holds.c.released_ms.is_(None))
        .values(released_ms=now_ms)
    ).rowcount
    if not done:
        raise NotFound("active legal hold", hold_id)
    hold = next(h for h in holds_of(conn, workspace_id, None) if h.id == hold_id)
    append_audit(
        conn, workspace_id, actor, "legal_hold.release", hold.profile_id, {"hold": hold_id}
    )
    return hold


def holds_of(
    conn: Connection, workspace_id: str, profile_id: str | None, active_only: bool = False
) -> list[LegalHold]:
    """Legal holds of a workspace (of one profile), oldest first."""
    t = legal_holds.c
    stmt = select(legal_holds).where(t.workspace_id == workspace_id)
    if profile_id is not None:
        stmt = stmt.where(t.profile_id == profile_id)
    if active_only:
        stmt = stmt.where(t.released_ms.is_(None))
    rows = conn.execute(stmt.order_by(t.placed_ms)).all()
    return [
        LegalHold(r.id, r.profile_id, r.reason, r.placed_by, r.placed_ms, r.released_ms)
        for r in rows
    ]


def _request(row: Any) -> DsrRequest:
    return DsrRequest(
        id=row.id,
        workspace_id=row.workspace_id,
        profile_id=row.profile_id,
        kind=row.kind,
        status=row.status,
        origin=row.origin,
        regions=tuple(r for r in row.regions.split(",") if r),
        packs=orjson.loads(row.packs),
        locale=row.locale,
        received_ms=row.received_ms,
        due_ms=row.due_ms,
        params=orjson.loads(row.params),
        completed_ms=row.completed_ms,
        reason=row.reason,
        report=None if row.report is None else orjson.loads(row.report),
        letters=None if row.letters is None else orjson.loads(row.letters),
    )


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
