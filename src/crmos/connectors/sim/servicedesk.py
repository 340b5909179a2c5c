"""The reference service desk: repair tickets, known defects attached to them, engineers sent.

Scenario 8 of the design: a repair ticket meets the MES alarm log and a known firmware-batch
defect, so the defect goes on the ticket instead of a field engineer going out.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crmos.connectors.sim.app import Domain, Refusal, Route, SimRequest, Tx, take

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, summary TEXT NOT NULL, reference TEXT,
    status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
    id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, defect TEXT NOT NULL, reference TEXT,
    removed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS dispatches (
    id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, device_id TEXT NOT NULL, reference TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0);
"""


def seed(db: sqlite3.Connection) -> None:
    """Nothing: tickets arrive with the runs."""


def _next_id(db: sqlite3.Connection, table: str, prefix: str) -> str:
    count = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return f"{prefix}-{count + 1:06d}"


def _ticket(db: sqlite3.Connection, ticket_id: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_ticket", f"no ticket '{ticket_id}'")
    attached = [
        r[0]
        for r in db.execute(
            "SELECT defect FROM attachments WHERE ticket_id = ? AND removed = 0 ORDER BY id",
            (ticket_id,),
        )
    ]
    sent = db.execute(
        "SELECT COUNT(*) FROM dispatches WHERE ticket_id = ? AND cancelled = 0", (ticket_id,)
    ).fetchone()[0]
    return {
        "ticket_id": ticket_id,
        "device_id": row["device_id"],
        "summary": row["summary"],
        "status": row["status"],
        "defects": attached,
        "engineers_dispatched": sent,
    }


def open_ticket(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /tickets: a repair ticket for a device."""
    ticket_id = _next_id(tx.db, "tickets", "T")
    device_id, summary = take(req.body, "device_id", str), take(req.body, "summary", str)
    reference = take(req.body, "reference", str, None)
    tx.db.execute(
        "INSERT INTO tickets VALUES (?, ?, ?, ?, 'open')",
        (ticket_id, device_id, summary, reference),
    )
    tx.side_effect(ticket_id, reference)
    return 201, _ticket(tx.db, ticket_id)


def close_ticket(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /tickets/{ticket_id}/close (twice is harmless)."""
    ticket_id = req.path_params["ticket_id"]
    _ticket(tx.db, ticket_id)
    tx.compensate(ticket_id)
    tx.db.execute("UPDATE tickets SET status = 'closed' WHERE id = ?", (ticket_id,))
    return 200, _ticket(tx.db, ticket_id)


def attach_defect(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /tickets/{ticket_id}/defects: put a known defect (and its remedy) on the ticket."""
    ticket_id = req.path_params["ticket_id"]
    _ticket(tx.db, ticket_id)
    defect, reference = take(req.body, "defect", str), take(req.body, "reference", str, None)
    attachment_id = _next_id(tx.db, "attachments", "A")
    tx.db.execute(
        "INSERT INTO attachments VALUES (?, ?, ?, ?, 0)",
        (attachment_id, ticket_id, defect, reference),
    )
    tx.side_effect(attachment_id, reference)
    return 201, {"attachment_id": attachment_id, **_ticket(tx.db, ticket_id)}


def detach_defect(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /attachments/{attachment_id}/remove (twice is harmless)."""
    attachment_id = req.path_params["attachment_id"]
    row = tx.db.execute(
        "SELECT ticket_id FROM attachments WHERE id = ?", (attachment_id,)
    ).fetchone()
    if row is None:
        raise Refusal(404, "unknown_attachment", f"no attachment '{attachment_id}'")
    tx.compensate(attachment_id)
    tx.db.execute("UPDATE attachments SET removed = 1 WHERE id = ?", (attachment_id,))
    return 200, {"attachment_id": attachment_id, **_ticket(tx.db, row[0])}


def dispatch_engineer(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /tickets/{ticket_id}/dispatches: send a field engineer to the device."""
    ticket_id = req.path_params["ticket_id"]
    ticket = _ticket(tx.db, ticket_id)
    device = take(req.body, "device", str, ticket["device_id"])
    reference = take(req.body, "reference", str, None)
    dispatch_id = _next_id(tx.db, "dispatches", "D")
    tx.db.execute(
        "INSERT INTO dispatches VALUES (?, ?, ?, ?, 0)", (dispatch_id, ticket_id, device, reference)
    )
    tx.side_effect(dispatch_id, reference)
    return 201, {"dispatch_id": dispatch_id, **_ticket(tx.db, ticket_id)}


def cancel_dispatch(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /dispatches/{dispatch_id}/cancel (twice is harmless)."""
    dispatch_id = req.path_params["dispatch_id"]
    row = tx.db.execute("SELECT ticket_id FROM dispatches WHERE id = ?", (dispatch_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_dispatch", f"no dispatch '{dispatch_id}'")
    tx.compensate(dispatch_id)
    tx.db.execute("UPDATE dispatches SET cancelled = 1 WHERE id = ?", (dispatch_id,))
    return 200, {"dispatch_id": dispatch_id, **_ticket(tx.db, row[0])}


def get_ticket(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /tickets/{ticket_id}."""
    return 200, _ticket(tx.db, req.path_params["ticket_id"])


def _undo(method: str, pattern: str, operation: str, handler: Any) -> Route:
    return Route(method, pattern, operation, handler, write=True, compensation=True)


SERVICEDESK = Domain(
    kind="servicedesk",
    default_port=8104,
    schema=SCHEMA,
    seed=seed,
    routes=(
        Route("POST", "/tickets", "open_ticket", open_ticket, write=True),
        _undo("POST", "/tickets/{ticket_id}/close", "close_ticket", close_ticket),
        Route("POST", "/tickets/{ticket_id}/defects", "attach", attach_defect, write=True),
        _undo("POST", "/attachments/{attachment_id}/remove", "detach", detach_defect),
        Route(
            "POST",
            "/tickets/{ticket_id}/dispatches",
            "dispatch",
            dispatch_engineer,
            write=True,
        ),
        _undo("POST", "/dispatches/{dispatch_id}/cancel", "cancel_dispatch", cancel_dispatch),
        Route("GET", "/tickets/{ticket_id}", "get_ticket", get_ticket),
    ),
)
