"""Data-subject requests end to end: receive, check holds, run, prove, confirm by letter.

A request is received (the subject resolved, the governing packs and the deadline fixed, an
audit entry written), then run: access exports everything held; erasure reaches every local
store and every downstream system and ends with a scan proving no readable copy is left;
rectification writes corrected traits through the intake; opt-out withdraws consent to sale and
sharing. Every step is an audit entry whose subject is the pseudonymous profile id, so the
trail survives the erasure it records.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, update

from crmos.compliance import export
from crmos.compliance.config import ComplianceConfig
from crmos.compliance.consent import record_consent
from crmos.compliance.downstream import erase_downstream
from crmos.compliance.erase import erase_local
from crmos.compliance.jurisdiction import locale_of, region_locale, regions_of
from crmos.compliance.model import Outcome
from crmos.compliance.packbook import in_force, mark_enforced
from crmos.compliance.ports import LetterRenderer
from crmos.compliance.regions import stored_regions
from crmos.compliance.requests import (
    DsrRequest,
    check_kind,
    finish_request,
    get_request,
    holds_of,
    insert_request,
    pending_ids,
)
from crmos.compliance.scan import scan
from crmos.compliance.settings_store import SettingsStore
from crmos.compliance.subjects import Directory, Subject
from crmos.core.clock import Clock, to_ms, utcnow
from crmos.core.datamap import Room
from crmos.core.errors import CrmosError, Problem, ValidationError
from crmos.core.ids import new_id
from crmos.ingest import EventReader, IngestService
from crmos.store import Decision, Vault, append_audit, deleted_rows_note, record_decision
from crmos.store.tables_compliance import dsr_requests

DAY_MS = 86_400_000
DEFAULT_DAYS = 30
OPT_OUT_PURPOSES = ("sale", "sharing", "marketing")


class DsrService:
    """Receives and runs data-subject requests."""

    def __init__(
        self,
        engine: Engine,
        vault: Vault,
        reader: EventReader,
        settings: SettingsStore,
        roots: Sequence[Path],
        letters: LetterRenderer | None = None,
        clock: Clock = utcnow,
        rooms: Sequence[Room] = (),
    ) -> None:
        self._engine = engine
        self.rooms = tuple(rooms)
        self._vault = vault
        self._reader = reader
        self._settings = settings
        self._roots = list(roots)
        self._letters = letters
        self._intake: IngestService | None = None
        self._clock = clock
        self.directory = Directory(reader)

    def connect(self, intake: IngestService) -> None:
        """Write rectified traits through ``intake`` (see :meth:`Compliance.connect`)."""
        self._intake = intake

    def receive(
        self,
        workspace_id: str,
        kind: str,
        identifier: tuple[str, str],
        origin: str,
        actor: str,
        params: dict[str, Any] | None = None,
    ) -> DsrRequest:
        """Record a request for the person holding ``identifier`` (type, value)."""
        check_kind(kind)
        with self._engine.begin() as conn:
            subject = self.directory.find(conn, workspace_id, *identifier)
            return self.receive_in(conn, workspace_id, kind, subject, origin, actor, params)

    def receive_in(
        self,
        conn: Connection,
        workspace_id: str,
        kind: str,
        subject: Subject,
        origin: str,
        actor: str,
        params: dict[str, Any] | None = None,
    ) -> DsrRequest:
        """Record a request for ``subject`` inside the caller's transaction (a stream consumer)."""
        check_kind(kind)
        now = self._now_ms()
        config = self._settings.read(conn, workspace_id)[0]
        stored, locale = stored_regions(conn, workspace_id, subject.profile_id)
        regions = tuple(sorted({*stored, *regions_of(subject.traits, config.default_region)}))
        versions = {
            n: v
            for n, v in in_force(conn, workspace_id, config.packs, now).items()
            if kind in v.spec.requests and any(v.spec.governs(r) for r in regions)
        }
        days = min(
            (r.deadline_days for v in versions.values() if (r := v.spec.requests.get(kind))),  # type: ignore[call-overload]
            default=0,
        )
        request = DsrRequest(
            id=new_id("dsr_"),
            workspace_id=workspace_id,
            profile_id=subject.profile_id,
            kind=kind,
            status="received",
            origin=origin,
            regions=regions,
            packs={n: v.version for n, v in versions.items()},
            locale=locale or locale_of(subject.traits) or _region_locale(regions) or config.locale,
            received_ms=now,
            due_ms=now + (days or DEFAULT_DAYS) * DAY_MS,
            params=_public_params(kind, params or {}),
        )
        insert_request(conn, request, actor)
        mark_enforced(conn, versions.values(), now)
        return request

    def run(
        self, workspace_id: str, request_id: str, actor: str = "dsr", wait_s: float = 120.0
    ) -> DsrRequest:
        """Run a received request; returns it with its outcome and report.

        When another runner (the worker of ``crmos serve``) claimed it first, waits up to
        ``wait_s`` for that run to end, so a caller asking to run now gets the outcome.
        """
        with self._engine.begin() as conn:
            request = get_request(conn, workspace_id, request_id)
            claimed = conn.execute(
                update(dsr_requests)
                .where(dsr_requests.c.id == request_id, dsr_requests.c.status == "received")
                .values(status="running")
            ).rowcount
        if not claimed:
            return self._outcome_of(workspace_id, request_id, wait_s)
        config = self._settings.get(workspace_id)
        runner = {
            "erasure": self._erase,
            "access": self._access,
            "rectification": self._rectify,
            "opt_out": self._opt_out,
        }[request.kind]
        try:
            return runner(request, config, actor)
        except CrmosError as exc:
            # The request must not stay "running" for ever: it failed, and says why.
            with self._engine.begin() as conn:
                self._step(conn, request, actor, "dsr.failed", {"error": exc.code})
                return finish_request(conn, request, "failed", None, exc.message, None, None)

    def run_pending(self, limit: int = 20) -> list[DsrRequest]:
        """Run every received request (the worker's loop body)."""
        with self._engine.connect() as conn:
            todo = pending_ids(conn, limit)
        return [self.run(ws, request_id, "dsr.worker", wait_s=0) for ws, request_id in todo]

    def _outcome_of(self, workspace_id: str, request_id: str, wait_s: float) -> DsrRequest:
        """The request once its runner has finished it (or as it is when ``wait_s`` ran out)."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._engine.connect() as conn:
                request = get_request(conn, workspace_id, request_id)
            if request.status != "running" or time.monotonic() >= deadline:
                return request
            time.sleep(0.05)  # the other runner commits its outcome in one transaction

    def export(self, workspace_id: str, request_id: str) -> dict[str, Any]:
        """The machine-readable export of an access request (computed now, never stored)."""
        with self._engine.connect() as conn:
            request = get_request(conn, workspace_id, request_id)
            subject = self.directory.by_profile(conn, workspace_id, request.profile_id)
            return export.everything(conn, self._reader, subject, request)

    def _erase(self, request: DsrRequest, config: ComplianceConfig, actor: str) -> DsrRequest:
        started = time.perf_counter()
        ws = request.workspace_id
        with self._engine.begin() as conn:
            holds = holds_of(conn, ws, request.profile_id, active_only=True)
            if holds:
                blocked_by = "; ".join(f"legal hold {h.id}: {h.reason}" for h in holds)
                self._step(conn, request, actor, "dsr.blocked", {"holds": [h.id for h in holds]})
                self._decide(conn, request, f"erasure blocked by {blocked_by}", [])
                return finish_request(conn, request, "blocked", None, blocked_by, None, None)
            subject = self.directory.by_profile(conn, ws, request.profile_id)
        outcomes = erase_downstream(config.downstream, request.id, subject)
        outcomes += erase_local(self._engine, self._vault, subject, self.rooms)
        proof = scan(self._engine, self._roots, subject.needles)
        failed = sorted({o.target for o in outcomes if o.status == "failed"})
        status = "completed" if not failed and proof.readable_copies == 0 else "incomplete"
        reason = _incomplete(failed, proof.readable_copies) or None
        report = {
            "request": request.id,
            "kind": "erasure",
            "profile_id": request.profile_id,
            "packs": request.packs,
            "stores": [o.as_dict() for o in outcomes if o.kind == "store"],
            "systems": [o.as_dict() for o in outcomes if o.kind == "system"],
            "verification": proof.as_dict(),
            "storage": deleted_rows_note(self._engine),
            "seconds": round(time.perf_counter() - started, 3),
        }
        return self._close(request, status, reason, report, outcomes, actor, config)

    def _access(self, request: DsrRequest, config: ComplianceConfig, actor: str) -> DsrRequest:
        data = self.export(request.workspace_id, request.id)
        counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
        report = {"request": request.id, "kind": "access", "counts": counts}
        outcome = Outcome("export", "store", "confirmed", sum(counts.values()), "export ready")
        return self._close(request, "completed", None, report, [outcome], actor, config)

    def _rectify(self, request: DsrRequest, config: ComplianceConfig, actor: str) -> DsrRequest:
        why = "a rectification carries its corrections: use `crmos dsr rectify` or the API"
        report = {"request": request.id, "kind": "rectification", "traits": []}
        return self._close(request, "failed", why, report, [], actor, config)

    def rectify(
        self, workspace_id: str, identifier: tuple[str, str], traits: dict[str, Any], actor: str
    ) -> DsrRequest:
        """Correct traits: validated like intake, written as an identify event (source dsr)."""
        if not traits:
            raise ValidationError("nothing to rectify", [Problem("traits", "give the fixes")])
        request = self.receive(workspace_id, "rectification", identifier, "api", actor)
        with self._engine.begin() as conn:
            conn.execute(
                update(dsr_requests).where(dsr_requests.c.id == request.id).values(status="running")
            )
            subject = self.directory.by_profile(conn, workspace_id, request.profile_id)
        written = self._write_traits(subject, request, traits)
        report = {"request": request.id, "kind": "rectification", "traits": sorted(traits)}
        outcome = Outcome("events", "store", "confirmed", written, "corrected traits recorded")
        config = self._settings.get(workspace_id)
        return self._close(request, "completed", None, report, [outcome], actor, config)

    def _opt_out(self, request: DsrRequest, config: ComplianceConfig, actor: str) -> DsrRequest:
        purposes = request.params.get("purposes") or list(OPT_OUT_PURPOSES)
        with self._engine.begin() as conn:
            for purpose in purposes:
                record_consent(
                    conn,
                    request.workspace_id,
                    request.profile_id,
                    purpose,
                    "*",
                    "withdrawn",
                    f"dsr:{request.id}",
                )
        report = {"request": request.id, "kind": "opt_out", "purposes": purposes}
        outcome = Outcome("consents", "store", "confirmed", len(purposes), "consent withdrawn")
        return self._close(request, "completed", None, report, [outcome], actor, config)

    def _write_traits(self, subject: Subject, request: DsrRequest, traits: dict[str, Any]) -> int:
        if self._intake is None:
            raise ValidationError("rectification needs the intake; build crmos with bootstrap")
        ids = {"userId": subject.user_ids[0]} if subject.user_ids else {}
        if not ids and subject.anonymous_ids:
            ids = {"anonymousId": subject.anonymous_ids[0]}
        line = {"type": "identify", "messageId": f"{request.id}-traits", "traits": traits, **ids}
        reports = list(self._intake.ingest_lines(request.workspace_id, "dsr", [orjson.dumps(line)]))
        problems = [p for r in reports for p in r.problems]
        if problems:
            raise ValidationError("rectification rejected; nothing was changed", problems)
        return sum(r.accepted for r in reports)

    def _close(
        self,
        request: DsrRequest,
        status: str,
        reason: str | None,
        report: dict[str, Any],
        outcomes: list[Outcome],
        actor: str,
        config: ComplianceConfig,
    ) -> DsrRequest:
        now = self._now_ms()
        report["completed_ms"] = now
        report["on_time"] = now <= request.due_ms
        letters = self._render(request, report, config)
        with self._engine.begin() as conn:
            for outcome in outcomes:
                self._step(conn, request, actor, "dsr.step", outcome.as_dict())
            digest = hashlib.sha256(orjson.dumps(report, option=orjson.OPT_SORT_KEYS)).hexdigest()
            self._step(conn, request, actor, f"dsr.{status}", {"report_sha256": digest})
            self._decide(conn, request, reason or f"{request.kind} {status}", outcomes)
            return finish_request(conn, request, status, now, reason, report, letters)

    def _render(
        self, request: DsrRequest, report: dict[str, Any], config: ComplianceConfig
    ) -> dict[str, Any] | None:
        if self._letters is None:
            return None
        context = {
            "request": request.as_dict(),
            "report": report,
            "timezone": config.team(None).timezone,
            "law": self._law(request),
        }
        letters: dict[str, Any] = {}
        for locale in dict.fromkeys([request.locale, config.locale, "en"]):
            letter = self._letters(f"dsr_{request.kind}", locale, context)
            letters.setdefault(letter.locale, letter.as_dict())
        return letters

    def _law(self, request: DsrRequest) -> str:
        names = []
        for pack in sorted(request.packs):
            spec = (
                self._settings.registry.get(pack)
                if pack in self._settings.registry.names()
                else None
            )
            rule = spec.requests.get(request.kind) if spec else None  # type: ignore[call-overload]
            names.append(f"{spec.name} {rule.article}".strip() if spec and rule else pack)
        return "; ".join(names)

    def _step(
        self, conn: Any, request: DsrRequest, actor: str, action: str, details: dict[str, Any]
    ) -> None:
        details = {"request": request.id, **details}
        append_audit(conn, request.workspace_id, actor, action, request.profile_id, details)

    def _decide(self, conn: Any, request: DsrRequest, reason: str, outcomes: list[Outcome]) -> None:
        pack, version = next(iter(sorted(request.packs.items())), ("compliance.dsr", "1"))
        origin = request.origin
        record_decision(
            conn,
            Decision(
                workspace_id=request.workspace_id,
                kind=f"compliance.dsr.{request.kind}",
                rule=pack,
                version=version,
                reason=reason,
                subject_profile_id=request.profile_id,
                inputs={"request": request.id, "regions": list(request.regions)},
                event_ids=[origin.removeprefix("event:")] if origin.startswith("event:") else [],
                actions=[{"target": o.target, "outcome": o.status} for o in outcomes],
            ),
        )

    def _now_ms(self) -> int:
        return to_ms(self._clock())


def _incomplete(failed: list[str], copies: int) -> str:
    parts = []
    if failed:
        parts.append(f"not confirmed by: {', '.join(failed)}")
    if copies:
        parts.append(f"{copies} readable copies remain (see the verification findings)")
    return "; ".join(parts)


def _public_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only non-personal parameters are stored with a request."""
    if kind == "opt_out" and "purposes" in params:
        return {"purposes": [str(p) for p in params["purposes"]]}
    return {}


def _region_locale(regions: tuple[str, ...]) -> str | None:
    return next((loc for r in regions if (loc := region_locale(r))), None)
