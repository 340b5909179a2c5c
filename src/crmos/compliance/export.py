"""The access export: everything held about a person, machine-readable (JSON-ready data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from crmos import identity
from crmos.compliance.consent import consent_history
from crmos.compliance.requests import DsrRequest, holds_of, list_requests
from crmos.compliance.subjects import Subject
from crmos.core.clock import now_ms
from crmos.ingest import EventReader
from crmos.store import decisions_of, subject_events
from crmos.store.tables_compliance import complaints

PAGE = 1000


def everything(
    conn: Connection, reader: EventReader, subject: Subject, request: DsrRequest
) -> dict[str, Any]:
    """The export for ``subject``: profile, identifiers, traits, events, decisions, consent,
    requests, complaints and legal holds."""
    ws = subject.workspace_id
    return {
        "format": "crmos.access_export/1",
        "request": request.id,
        "generated_ms": now_ms(),
        "profile_id": subject.profile_id,
        "regions": list(request.regions),
        "identifiers": [{"type": t, "value": v} for t, v in subject.identifiers],
        "traits": dict(subject.traits),
        "profile": _profile(conn, subject),
        "events": _events(conn, reader, subject),
        "decisions": [_decision(d) for d in decisions_of(conn, ws, subject.profile_id, 100_000)],
        "consents": [c.as_dict() for c in consent_history(conn, ws, subject.profile_id)],
        "requests": [r.as_dict() for r in list_requests(conn, ws, profile_id=subject.profile_id)],
        "complaints": _complaints(conn, subject),
        "legal_holds": [h.as_dict() for h in holds_of(conn, ws, subject.profile_id)],
    }


def _profile(conn: Connection, subject: Subject) -> dict[str, Any] | None:
    if not subject.profile_ids:
        return None
    return identity.profile_view(conn, subject.workspace_id, subject.profile_id)


def _events(conn: Connection, reader: EventReader, subject: Subject) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    ws, users, anons = subject.workspace_id, subject.user_ids, subject.anonymous_ids
    seqs = () if users or anons else subject.seqs
    while True:  # hot, warm and cold alike (the store's reader spans the tiers)
        rows = subject_events(conn, ws, users, anons, seqs, after_seq=after, limit=PAGE)
        if not rows:
            return out
        out += [
            {**e.body, "seq": e.seq, "touchpoint": e.touchpoint}
            for e in reader.to_events(conn, rows)
        ]
        after = rows[-1].seq


def _decision(decision: Any) -> dict[str, Any]:
    return {
        "id": decision.id,
        "at_ms": decision.at_ms,
        "kind": decision.kind,
        "rule": decision.rule,
        "version": decision.version,
        "reason": decision.reason,
        "score": decision.score,
        "inputs": decision.inputs,
        "event_ids": list(decision.event_ids),
        "actions": list(decision.actions),
        "approver": decision.approver,
    }


def _complaints(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(complaints).where(
            complaints.c.workspace_id == subject.workspace_id,
            complaints.c.profile_id == subject.profile_id,
        )
    ).mappings()
    return [dict(r) for r in rows]
