"""Scenario checks about compliance: 10 (erasure in Germany), 11 (Brazil invoice) and 12 (DSA
complaint SLA)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from crmos.demo.judging import Outcome, Seen, failed
from crmos.ingest import intake_stats
from crmos.store import EventQuery, audit_entries, verify_audit

BERLIN = ZoneInfo("Europe/Berlin")


def erasure(seen: Seen, conn: Connection) -> Outcome:
    """10: a German complaint asking for deletion -> GDPR erasure, letters in de and en."""
    name = "Erasure in Germany"
    where = [seen.api("/api/v1/dsr?kind=erasure"), seen.cli("dsr list"), seen.cli("audit verify")]
    requests = [
        r
        for r in seen.c.compliance.requests(seen.workspace_id, limit=500)
        if r.kind == "erasure" and r.origin.startswith("event:")
    ]
    if not requests:
        reason = "the complaint started no erasure"
        return failed(10, name, "no erasure request", where, reason, seen.page("/compliance"))
    request = seen.c.compliance.request(seen.workspace_id, requests[-1].id)
    page = seen.page(f"/dsr/{request.id}")
    where[:1] = [seen.api(f"/api/v1/dsr/{request.id}"), seen.cli(f"dsr show {request.id}")]
    where.append(seen.api(f"/api/v1/dsr/{request.id}/letter?locale=de"))
    letters = sorted((request.letters or {}).keys())
    proof = (request.report or {}).get("verification", {})
    copies = proof.get("readable_copies")
    trail = _audit_trail(conn, seen.workspace_id, request.id)
    subjects = sorted({e.subject or "-" for e in trail.entries})
    happened = (
        f"complaint -> {request.id} (packs {', '.join(request.packs) or '-'}): "
        f"{request.status}; letters in {', '.join(letters) or 'none'}; {copies} readable "
        f"copies in {proof.get('tables_scanned')} tables and the home's files afterwards; "
        f"audit: {len(trail.entries)} entries of the request "
        f"({trail.actions() or 'none'}) under {', '.join(subjects)}, "
        f"chain of {trail.length} entries {'intact' if not trail.breaks else 'BROKEN'}"
    )
    if request.status != "completed":
        reason = request.reason or request.status
        return failed(10, name, happened, where, f"the erasure did not complete: {reason}", page)
    if "gdpr" not in request.packs:
        return failed(10, name, happened, where, "GDPR did not govern the erasure", page)
    if not {"de", "en"} <= {letter.split("-")[0] for letter in letters}:
        reason = "the letters are not in German and English"
        return failed(10, name, happened, where, reason, page)
    if copies != 0:
        return failed(10, name, happened, where, "readable copies remain", page)
    problem = trail.problem(request.profile_id)
    if problem:
        return failed(10, name, happened, where, problem, page)
    return Outcome(10, name, happened, where, True, console=page)


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """What the audit chain keeps of one request, and whether the whole chain verifies."""

    entries: list[Any]
    length: int
    breaks: list[str]

    def actions(self) -> str:
        """The entries' actions in order, repeats counted ("dsr.received, 42 x dsr.step")."""
        counted = Counter(e.action for e in self.entries)
        return ", ".join(f"{n} x {a}" if n > 1 else a for a, n in counted.items())

    def problem(self, subject: str) -> str:
        """Why the trail does not prove the erasure (empty when it does): the request's
        received and completed entries survive, name only the pseudonymous profile id, and
        the chain around them verifies."""
        actions = {e.action for e in self.entries}
        if not {"dsr.received", "dsr.completed"} <= actions:
            return f"the audit chain lost the request's entries (it holds {sorted(actions)})"
        if any(e.subject != subject for e in self.entries):
            return "an audit entry of the erasure names something else than its pseudonymous id"
        if self.breaks:
            return f"the audit chain does not verify: {'; '.join(self.breaks[:3])}"
        return ""


def _audit_trail(conn: Connection, workspace_id: str, request_id: str) -> AuditTrail:
    """Read back the request's entries with the store's reader; verify the whole chain."""
    entries, length = [], 0
    for entry in audit_entries(conn, workspace_id):
        length += 1
        if json.loads(entry.details).get("request") == request_id:
            entries.append(entry)
    breaks = [f"entry {b.position} {b.problem}" for b in verify_audit(conn, workspace_id)]
    return AuditTrail(entries, length, breaks)


def brazil_invoice(seen: Seen, conn: Connection) -> Outcome:
    """11: a mistyped CPF is refused at intake with a clear reason; the right one is stored."""
    name = "Brazil invoice (CPF/CNPJ)"
    where = [seen.api("/api/v1/intake/stats"), seen.cli("compliance settings show")]
    page = seen.page("/#intake")  # the start page's loss accounting: rejections by reason
    invoices = seen.marked(11, "track", "Invoice Requested")
    if not invoices:
        reason = "the demo world has no invoice story (cast.json)"
        return failed(11, name, "-", where, reason, page)
    config = seen.c.compliance.settings.get(seen.workspace_id)
    stats = {s.source: s for s in intake_stats(seen.c.log, seen.workspace_id)}
    refused = stats["demo"].rejected if "demo" in stats else {}
    user = invoices[0]["userId"]
    stored = [
        e
        for e in seen.c.reader.events(
            EventQuery(seen.workspace_id, user_id=user, type="track", limit=10_000)
        )
        if e.name == "Invoice Requested"
    ]
    valid = [e for e in stored if e.body.get("properties", {}).get("demo_valid")]
    happened = (
        f"validators {config.validators}; refused at intake: {dict(refused) or 'none'}; "
        f"invoices stored for the buyer: {len(stored)} ({len(valid)} with the right CPF)"
    )
    if config.validators.get("cpf") != "br.cpf" or config.validators.get("cnpj") != "br.cnpj":
        return failed(11, name, happened, where, "the CPF/CNPJ validators are not set", page)
    if not refused or len(stored) != len(invoices) - 1 or len(valid) != len(stored):
        reason = "the mistyped CPF was not the one refused"
        return failed(11, name, happened, where, reason, page)
    return Outcome(11, name, happened, where, True, console=page)


def dsa_complaint(seen: Seen, conn: Connection) -> Outcome:
    """12: a complaint on Friday 16:00 Berlin is due after the weekend, in business hours."""
    name = "DSA complaint SLA"
    where = [seen.api("/api/v1/compliance/complaints"), seen.api("/api/v1/compliance/heatmap")]
    where.append(seen.cli("compliance complaints"))
    page = seen.page("/compliance")  # the complaints with their SLA, beside the heatmap
    told = seen.marked(12, "track", "Complaint Submitted")
    people = seen.marked(12, "identify")
    profile = seen.profile(conn, people[0]) if people else None
    if not told or profile is None:
        reason = "the Friday complaint's author has no profile"
        return failed(12, name, "-", where, reason, page)
    mine = [
        x for x in seen.c.compliance.complaints(seen.workspace_id) if x["profile_id"] == profile
    ]
    if not mine:
        reason = "the complaint was not recorded"
        return failed(12, name, "no complaint", where, reason, page)
    # The author may have complained before; the scenario's complaint is the Friday one.
    told_ms = datetime.fromisoformat(told[0]["timestamp"].replace("Z", "+00:00")).timestamp() * 1000
    item = min(mine, key=lambda x: abs(x["received_ms"] - told_ms))
    received = datetime.fromtimestamp(item["received_ms"] / 1000, BERLIN)
    due = datetime.fromtimestamp(item["due_ms"] / 1000, BERLIN)
    breaches = sum(
        len(r["breaches"]) for r in seen.c.compliance.heatmap(seen.workspace_id)["regions"]
    )
    happened = (
        f"received {received:%a %Y-%m-%d %H:%M} Berlin under {item['pack']} "
        f"{item['pack_version']}: due {due:%a %Y-%m-%d %H:%M} ({item['status']}); "
        f"{breaches} breach(es) on the heatmap"
    )
    if item["pack"] != "dsa":
        reason = f"pack {item['pack']} decided, not the DSA"
        return failed(12, name, happened, where, reason, page)
    after_weekend = due.date() > received.date() and due.weekday() < 5
    if received.weekday() != 4 or not after_weekend or not 9 <= due.hour < 17:
        reason = "not due after the weekend in office hours"
        return failed(12, name, happened, where, reason, page)
    if item["breached"] and not breaches:
        return failed(12, name, happened, where, "a breach is missing from the heatmap", page)
    return Outcome(12, name, happened, where, True, console=page)
