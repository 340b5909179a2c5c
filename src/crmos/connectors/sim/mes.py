"""The reference MES: line capacity, device alarm logs and known firmware-batch defects."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from crmos.connectors.sim.app import Domain, Refusal, Route, SimRequest, Tx, positive, take

SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (id TEXT PRIMARY KEY, capacity INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY, line TEXT NOT NULL, quantity INTEGER NOT NULL, reference TEXT,
    released INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, model TEXT NOT NULL, firmware_batch TEXT NOT NULL,
    customer_id TEXT, site TEXT);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, code TEXT NOT NULL, severity TEXT NOT NULL,
    message TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS defects (
    id TEXT PRIMARY KEY, firmware_batch TEXT NOT NULL, model TEXT NOT NULL,
    alarm_code TEXT NOT NULL, title TEXT NOT NULL, remedy TEXT NOT NULL, fixed_in TEXT);
"""

LINES = [("line-1", 10_000_000), ("line-2", 5_000)]
DEVICES = [
    ("dev-1001", "HX-200", "FW-2025.11-B", "acme", "Stuttgart"),
    ("dev-1002", "HX-200", "FW-2025.09-A", "acme", "Stuttgart"),
    ("dev-2001", "TX-9", "FW-2026.01-C", "globex", "Suzhou"),
]
ALARMS = [
    ("dev-1001", "E42", "critical", "Battery pack over-temperature", "2026-03-02T08:14:00Z"),
    ("dev-1001", "E42", "critical", "Battery pack over-temperature", "2026-03-03T09:02:00Z"),
    ("dev-1001", "W07", "warning", "Fan speed below target", "2026-03-03T09:05:00Z"),
    ("dev-1002", "E17", "critical", "Spindle vibration above limit", "2026-03-01T16:40:00Z"),
]
DEFECTS = [
    (
        "D-0042",
        "FW-2025.11-B",
        "HX-200",
        "E42",
        "BMS reports false over-temperature",
        "Remote firmware update to 2025.12.1; no site visit needed",
        "2025.12.1",
    ),
    (
        "D-0051",
        "FW-2026.01-C",
        "TX-9",
        "E88",
        "Display freezes after standby",
        "Remote firmware update to 2026.02.0",
        "2026.02.0",
    ),
]


def seed(db: sqlite3.Connection) -> None:
    """Two lines, three devices with alarms, and two known firmware-batch defects."""
    db.executemany("INSERT INTO lines VALUES (?, ?)", LINES)
    db.executemany("INSERT INTO devices VALUES (?, ?, ?, ?, ?)", DEVICES)
    db.executemany(
        "INSERT INTO alarms (device_id, code, severity, message, at) VALUES (?, ?, ?, ?, ?)", ALARMS
    )
    db.executemany("INSERT INTO defects VALUES (?, ?, ?, ?, ?, ?, ?)", DEFECTS)


def _line(db: sqlite3.Connection, line: str) -> dict[str, Any]:
    row = db.execute("SELECT capacity FROM lines WHERE id = ?", (line,)).fetchone()
    if row is None:
        known = [r[0] for r in db.execute("SELECT id FROM lines ORDER BY id")]
        raise Refusal(404, "unknown_line", f"no line '{line}' (lines: {', '.join(known)})")
    reserved = db.execute(
        "SELECT COALESCE(SUM(quantity), 0) FROM reservations WHERE line = ? AND released = 0",
        (line,),
    ).fetchone()[0]
    return {"line": line, "capacity": row[0], "reserved": reserved, "available": row[0] - reserved}


def reserve_capacity(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /capacity/reservations: reserve units, or refuse with 409 when the line is full."""
    line = _line(tx.db, take(req.body, "line", str))
    quantity = positive(req.body, "quantity", int)
    reference = take(req.body, "reference", str, None)
    if quantity > line["available"]:
        raise Refusal(
            409,
            "insufficient_capacity",
            f"line '{line['line']}' has {line['available']} units free; {quantity} asked",
            **line,
        )
    count = tx.db.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
    reservation_id = f"R-{count + 1:06d}"
    tx.db.execute(
        "INSERT INTO reservations VALUES (?, ?, ?, ?, 0)",
        (reservation_id, line["line"], quantity, reference),
    )
    tx.side_effect(reservation_id, reference)
    return 201, {
        "reservation_id": reservation_id,
        "quantity": quantity,
        "reference": reference,
        **_line(tx.db, line["line"]),
    }


def release_capacity(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /capacity/reservations/{reservation_id}/release (twice is harmless)."""
    reservation_id = req.path_params["reservation_id"]
    row = tx.db.execute("SELECT line FROM reservations WHERE id = ?", (reservation_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_reservation", f"no reservation '{reservation_id}'")
    newly = tx.compensate(reservation_id)
    tx.db.execute("UPDATE reservations SET released = 1 WHERE id = ?", (reservation_id,))
    return 200, {
        "reservation_id": reservation_id,
        "status": "released",
        "released_now": newly,
        **_line(tx.db, row[0]),
    }


def get_line(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /capacity/lines/{line}."""
    return 200, _line(tx.db, req.path_params["line"])


def _device(db: sqlite3.Connection, device_id: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_device", f"no device '{device_id}'")
    data = dict(row)
    data["device_id"] = data.pop("id")
    return data


def get_device(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /devices/{device_id}."""
    return 200, _device(tx.db, req.path_params["device_id"])


def alarm_log(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /devices/{device_id}/alarms?limit=N: newest first."""
    device = _device(tx.db, req.path_params["device_id"])
    try:
        limit = int(req.query.get("limit", "50"))
    except ValueError as exc:
        raise Refusal(422, "invalid_params", "'limit' must be an integer") from exc
    rows = tx.db.execute(
        "SELECT code, severity, message, at FROM alarms WHERE device_id = ? "
        "ORDER BY at DESC, id DESC LIMIT ?",
        (device["device_id"], limit),
    )
    return 200, {**device, "alarms": [dict(r) for r in rows]}


def record_alarm(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /devices/{device_id}/alarms."""
    device = _device(tx.db, req.path_params["device_id"])
    severity = take(req.body, "severity", str, "warning")
    if severity not in ("info", "warning", "critical"):
        raise Refusal(422, "invalid_params", "'severity' must be info, warning or critical")
    alarm = {
        "code": take(req.body, "code", str),
        "severity": severity,
        "message": take(req.body, "message", str, ""),
        "at": take(req.body, "at", str, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
    }
    cursor = tx.db.execute(
        "INSERT INTO alarms (device_id, code, severity, message, at) VALUES (?, ?, ?, ?, ?)",
        (device["device_id"], *alarm.values()),
    )
    tx.side_effect(f"alarm-{cursor.lastrowid}", None, compensable=False)
    return 201, {"device_id": device["device_id"], **alarm}


def defect_lookup(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /defects?device_id=&firmware_batch=&alarm_code=: defects matched with alarms."""
    device_id = req.query.get("device_id")
    device = _device(tx.db, device_id) if device_id else {}
    batch = device.get("firmware_batch") or req.query.get("firmware_batch")
    if not batch:
        raise Refusal(422, "invalid_params", "give device_id or firmware_batch")
    query, args = "SELECT * FROM defects WHERE firmware_batch = ?", [batch]
    if device:
        query, args = query + " AND model = ?", [*args, device["model"]]
    if "alarm_code" in req.query:
        query, args = query + " AND alarm_code = ?", [*args, req.query["alarm_code"]]
    seen: dict[str, int] = {}
    if device:
        seen = dict(
            tx.db.execute(
                "SELECT code, COUNT(*) FROM alarms WHERE device_id = ? GROUP BY code", (device_id,)
            ).fetchall()
        )
    defects = []
    for row in tx.db.execute(query + " ORDER BY id", args):
        defect = dict(row)
        defect["defect_id"] = defect.pop("id")
        defect["matched_alarms"] = seen.get(defect["alarm_code"], 0)
        defects.append(defect)
    known = next((d for d in defects if d["matched_alarms"]), None)
    return 200, {**device, "firmware_batch": batch, "defects": defects, "known_defect": known}


MES = Domain(
    kind="mes",
    default_port=8102,
    schema=SCHEMA,
    seed=seed,
    routes=(
        Route("POST", "/capacity/reservations", "reserve_capacity", reserve_capacity, write=True),
        Route(
            "POST",
            "/capacity/reservations/{reservation_id}/release",
            "release_capacity",
            release_capacity,
            write=True,
            compensation=True,
        ),
        Route("GET", "/capacity/lines/{line}", "get_line", get_line),
        Route("GET", "/devices/{device_id}", "get_device", get_device),
        Route("GET", "/devices/{device_id}/alarms", "alarm_log", alarm_log),
        Route("POST", "/devices/{device_id}/alarms", "record_alarm", record_alarm, write=True),
        Route("GET", "/defects", "defect_lookup", defect_lookup),
    ),
)
