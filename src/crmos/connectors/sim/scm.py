"""The reference SCM: material stock, locked for orders and unlocked again."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmos.connectors.sim.app import Domain, Refusal, Route, SimRequest, Tx, positive, take

SCHEMA = """
CREATE TABLE IF NOT EXISTS materials (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL, stock REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    id TEXT PRIMARY KEY, material TEXT NOT NULL, quantity REAL NOT NULL, reference TEXT,
    released INTEGER NOT NULL DEFAULT 0);
"""

MATERIALS = [
    ("steel-coil", "Cold-rolled steel coil", "t", 1_000_000.0),
    ("pcb-a7", "Controller board A7", "pcs", 5_000_000.0),
    ("battery-cell", "Li-ion cell 21700", "pcs", 20_000_000.0),
    ("titanium-bar", "Titanium bar Grade 5 (long lead time)", "kg", 100.0),
]


def seed(db: sqlite3.Connection) -> None:
    """Four materials; titanium is scarce (100 kg) for tests of a refused lock."""
    db.executemany("INSERT INTO materials VALUES (?, ?, ?, ?)", MATERIALS)


def _material(db: sqlite3.Connection, material: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM materials WHERE id = ?", (material,)).fetchone()
    if row is None:
        known = [r[0] for r in db.execute("SELECT id FROM materials ORDER BY id")]
        raise Refusal(
            404, "unknown_material", f"no material '{material}' (known: {', '.join(known)})"
        )
    locked = db.execute(
        "SELECT COALESCE(SUM(quantity), 0) FROM locks WHERE material = ? AND released = 0",
        (material,),
    ).fetchone()[0]
    return {
        "material": material,
        "name": row["name"],
        "unit": row["unit"],
        "stock": row["stock"],
        "locked": locked,
        "available": row["stock"] - locked,
    }


def lock_material(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /materials/locks: lock stock, or refuse with 409 when too little is free."""
    material = _material(tx.db, take(req.body, "material", str))
    quantity = positive(req.body, "quantity")
    reference = take(req.body, "reference", str, None)
    if quantity > material["available"]:
        raise Refusal(
            409,
            "insufficient_stock",
            f"{material['available']:g} {material['unit']} of '{material['material']}' free; "
            f"{quantity:g} asked",
            **material,
        )
    count = tx.db.execute("SELECT COUNT(*) FROM locks").fetchone()[0]
    lock_id = f"L-{count + 1:06d}"
    tx.db.execute(
        "INSERT INTO locks VALUES (?, ?, ?, ?, 0)",
        (lock_id, material["material"], quantity, reference),
    )
    tx.side_effect(lock_id, reference)
    return 201, {
        "lock_id": lock_id,
        "quantity": quantity,
        "reference": reference,
        **_material(tx.db, material["material"]),
    }


def unlock_material(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /materials/locks/{lock_id}/unlock (twice is harmless)."""
    lock_id = req.path_params["lock_id"]
    row = tx.db.execute("SELECT material FROM locks WHERE id = ?", (lock_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_lock", f"no lock '{lock_id}'")
    newly = tx.compensate(lock_id)
    tx.db.execute("UPDATE locks SET released = 1 WHERE id = ?", (lock_id,))
    return 200, {
        "lock_id": lock_id,
        "status": "unlocked",
        "unlocked_now": newly,
        **_material(tx.db, row[0]),
    }


def get_material(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /materials/{material}."""
    return 200, _material(tx.db, req.path_params["material"])


SCM = Domain(
    kind="scm",
    default_port=8103,
    schema=SCHEMA,
    seed=seed,
    routes=(
        Route("POST", "/materials/locks", "lock_material", lock_material, write=True),
        Route(
            "POST",
            "/materials/locks/{lock_id}/unlock",
            "unlock_material",
            unlock_material,
            write=True,
            compensation=True,
        ),
        Route("GET", "/materials/{material}", "get_material", get_material),
    ),
)
