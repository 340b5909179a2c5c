"""``crmos bench compliance``: erasure, access export, validators and audit verification.

One embedded store in a temporary home, built and migrated like ``crmos serve`` does:

- **erasure**: one person with 10,000 events (identify, tracks carrying their e-mail, an
  anonymous page view) among other people's events, and in the other rooms: an e-mail they
  sent (raw ``.eml`` with name and address), a knowledge passage naming them, graph activity
  and an audience membership; three downstream systems (real HTTP
  servers on loopback speaking the erasure webhook). Timed from receiving the request to the
  finished proof-of-erasure report, which includes a scan of every table and every file under
  the data directories. ``readable_copies_after`` is that scan's count, checked again by an
  independent scan afterwards. Reference: a bare ``DELETE`` of as many rows from a copy table.
- **export**: the access export of the same person before the erasure (every event decrypted).
  Reference: reading the same rows without decrypting them.
- **validators**: messages with CPF, CNPJ, e-mail and phone traits through the intake
  validator of a workspace configured for them. Reference: python-stdnum's CPF check alone.
- **audit verify**: ``crmos.store.verify_audit`` over a chain of 1,000,000 entries (100,000
  with ``--quick``). Reference: fetching the same rows without hashing them.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from stdnum.br import cpf as stdnum_cpf

from crmos.agent import Submission
from crmos.bootstrap import Container, build
from crmos.compliance import scan
from crmos.compliance.counterpart import ErasureCounterpart
from crmos.core.settings import Settings
from crmos.graph import create_audience
from crmos.ingest import Message
from crmos.ingest.messages import Identify
from crmos.store import audit_entries, chain_entries, verify_audit, write_audit_rows

console = Console()
EMAIL = "hans.mueller@example.de"
CPFS = ("390.533.447-05", "123.456.789-00")


def run(quick: bool = False, as_json: bool = False) -> dict[str, Any]:
    """Run the benchmark; print a table (and with ``as_json`` a last line of JSON)."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="crmos-bench-compliance-") as tmp:
        home = Path(tmp) / "home"
        container = build(Settings(home=home), migrate_store=True)
        try:
            figures |= _erasure(container, 10_000, 2_000 if quick else 10_000)
            figures |= _validators(container, 5_000 if quick else 40_000)
            figures |= _audit(container.engine, 100_000 if quick else 1_000_000)
        finally:
            container.close()
    _report(figures)
    if as_json:
        print(json.dumps(figures))  # noqa: T201 - the machine-readable last line
    return figures


def _erasure(container: Container, events: int, others: int) -> dict[str, Any]:
    ws, _, _ = container.workspaces.create("bench")
    with (
        ErasureCounterpart("erp") as erp,
        ErasureCounterpart("crm") as crm,
        ErasureCounterpart("mailer") as mailer,
    ):
        systems = (erp, crm, mailer)
        for system in systems:
            system.hold(EMAIL, 5)
        downstream = [{"name": s.name, "kind": "webhook", "url": s.url} for s in systems]
        container.compliance.settings.put(
            ws.id, {"packs": ["gdpr"], "downstream": downstream}, "bench"
        )
        started = time.perf_counter()
        _ingest(container, ws.id, events, others)
        ingest_s = time.perf_counter() - started
        rooms = _populate_rooms(container, ws.id)
        dsr = container.compliance.dsr
        started = time.perf_counter()
        access = dsr.run(ws.id, dsr.receive(ws.id, "access", ("user_id", "hans-42"), "b", "b").id)
        exported = dsr.export(ws.id, access.id)
        export_s = time.perf_counter() - started
        export_ref_s = _read_rows(container.engine, ws.id)
        started = time.perf_counter()
        request = dsr.receive(ws.id, "erasure", ("email", EMAIL), "bench", "bench")
        done = dsr.run(ws.id, request.id, "bench")
        erasure_s = time.perf_counter() - started
        confirmed = sum(
            1 for s in (done.report or {}).get("systems", []) if s["status"] == "confirmed"
        )
    needles = ("hans-42", "anon-hans", EMAIL, "Hans Müller")
    rescan = scan(container.engine, [container.settings.home], needles)
    reported = (done.report or {}).get("verification", {}).get("readable_copies", -1)
    return {
        "events": len(exported["events"]),
        "ingest_s": round(ingest_s, 3),
        "export_s": round(export_s, 3),
        "export_reference_s": round(export_ref_s, 3),
        "erasure_s": round(erasure_s, 3),
        "erasure_status": done.status,
        "rooms_populated": rooms,
        "rooms_erased": sorted(
            {s["target"] for s in (done.report or {}).get("stores", []) if s["count"]}
        ),
        "systems_confirmed": confirmed,
        "readable_copies_after": max(reported, rescan.readable_copies),
        "scan_tables": rescan.tables_scanned,
        "scan_files": rescan.files_scanned,
        "erasure_reference_s": round(_bare_delete(container.engine, events), 3),
    }


def _populate_rooms(container: Container, ws: str) -> list[str]:
    """Put the person into the rooms beyond the event log: an e-mail they sent (its raw file),
    a knowledge passage and a decision naming them, an audience they belong to."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Hans Müller <{EMAIL}>", "s@x", "Hi"
    message.set_content("When does my order arrive?\n\nHans Müller\nLindenstraße 23, Berlin\n")
    container.agent.add(Submission(ws, "order.eml", message.as_bytes(), "message/rfc822"))
    note = f"Key contact at Acme: Hans Müller ({EMAIL}), prefers calls before noon."
    container.agent.knowledge.add(ws, "contacts.md", "contacts", [note], note.encode())
    with container.engine.begin() as conn:
        create_audience(conn, ws, "germany", 'traits.country == "DE"', "bench")
    container.stream.run_once()
    return ["interactions", "interaction_files", "knowledge_passages", "graph", "audiences"]


def _ingest(container: Container, ws: str, events: int, others: int) -> None:
    service = container.ingest()
    for report in service.ingest_lines(ws, "bench", _lines(events, others)):
        assert not report.problems, report.problems[:3]
    container.stream.run_once()


def _lines(events: int, others: int) -> Iterator[bytes]:
    traits = {"email": EMAIL, "name": "Hans Müller", "country": "DE", "phone": "+49 30 1234567"}
    yield orjson.dumps(
        {"type": "page", "anonymousId": "anon-hans", "name": "Home", "messageId": "p0"}
    )
    yield orjson.dumps(
        {
            "type": "identify",
            "userId": "hans-42",
            "anonymousId": "anon-hans",
            "traits": traits,
            "messageId": "i0",
        }
    )
    for i in range(events - 2):
        yield orjson.dumps(
            {
                "type": "track",
                "userId": "hans-42",
                "event": "Viewed",
                "messageId": f"h{i}",
                "properties": {"email": EMAIL, "sku": i % 97},
            }
        )
    for i in range(others):
        yield orjson.dumps(
            {
                "type": "track",
                "userId": f"other-{i % 500}",
                "event": "Viewed",
                "messageId": f"o{i}",
                "properties": {"sku": i % 97},
            }
        )


def _read_rows(engine: Engine, ws: str) -> float:
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM events WHERE workspace_id = :ws AND user_id = 'hans-42'"),
            {"ws": ws},
        ).all()
    assert rows
    return time.perf_counter() - started


def _bare_delete(engine: Engine, rows: int) -> float:
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE bench_copy (id INTEGER PRIMARY KEY, user_id TEXT, body TEXT)")
        )
        conn.execute(
            text("INSERT INTO bench_copy (user_id, body) VALUES (:u, :b)"),
            [{"u": "x", "b": "{}"} for _ in range(rows)],
        )
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM bench_copy WHERE user_id = 'x'"))
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_copy"))
    return elapsed


def _validators(container: Container, count: int) -> dict[str, Any]:
    ws, _, _ = container.workspaces.create("bench-validators")
    rules = {"cpf": "br.cpf", "cnpj": "br.cnpj", "email": "email", "phone": "phone"}
    container.compliance.settings.put(ws.id, {"validators": rules}, "bench")
    messages: list[Message] = [
        msgspec.convert(
            {
                "type": "identify",
                "userId": f"u{i}",
                "traits": {
                    "cpf": CPFS[i % 2],
                    "cnpj": "11.222.333/0001-81",
                    "email": f"u{i}@example.com",
                    "phone": "+55 11 91234-5678",
                },
            },
            Identify,
        )
        for i in range(count)
    ]
    check = container.compliance.validator
    started = time.perf_counter()
    refused = sum(1 for m in messages if check(ws.id, m))
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(count):
        stdnum_cpf.is_valid(CPFS[i % 2])
    bare = time.perf_counter() - started
    return {
        "validators_per_s": round(count * len(rules) / elapsed),
        "messages_per_s": round(count / elapsed),
        "messages_refused": refused,
        "reference_cpf_checks_per_s": round(count / bare),
    }


def _audit(engine: Engine, entries: int) -> dict[str, Any]:
    ws = "ws_bench_audit"
    _fill_chain(engine, ws, entries)
    with engine.connect() as conn:
        started = time.perf_counter()
        breaks = list(verify_audit(conn, ws))
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        fetched = sum(1 for _ in audit_entries(conn, ws))
        fetch = time.perf_counter() - started
    assert not breaks and fetched == entries
    return {
        "audit_entries": entries,
        "audit_verify_s": round(elapsed, 3),
        "audit_verify_entries_per_s": round(entries / elapsed),
        "reference_fetch_entries_per_s": round(entries / fetch),
    }


def _fill_chain(engine: Engine, ws: str, entries: int) -> None:
    details = (orjson.dumps({"n": n}).decode() for n in range(1, entries + 1))
    rows = chain_entries(ws, details, "bench", "bench.entry", "prf_x", 1_770_000_000_000)
    with engine.begin() as conn:
        while batch := list(itertools.islice(rows, 20_000)):
            write_audit_rows(conn, batch)


def _report(figures: dict[str, Any]) -> None:
    table = Table("figure", "value", "reference (same run)", title="crmos bench compliance")
    table.add_row(
        "erasure, 1 subject, 10,000 events, 3 systems",
        f"{figures['erasure_s']} s",
        f"bare DELETE of as many rows: {figures['erasure_reference_s']} s",
    )
    table.add_row(
        "readable copies after (tables + files scanned)",
        str(figures["readable_copies_after"]),
        f"{figures['scan_tables']} tables, {figures['scan_files']} files",
    )
    table.add_row(
        "access export",
        f"{figures['export_s']} s",
        f"rows read without decrypting: {figures['export_reference_s']} s",
    )
    table.add_row(
        "validators",
        f"{figures['validators_per_s']:,}/s",
        f"stdnum CPF alone: {figures['reference_cpf_checks_per_s']:,}/s",
    )
    table.add_row(
        f"audit verify ({figures['audit_entries']:,} entries)",
        f"{figures['audit_verify_entries_per_s']:,}/s",
        f"fetch only: {figures['reference_fetch_entries_per_s']:,}/s",
    )
    console.print(table)
