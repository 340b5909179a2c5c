"""The reference ERP: framework contracts and customer credit (limits, holds, releases)."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmos.connectors.sim.app import Domain, Refusal, Route, SimRequest, Tx, positive, take

#: Customers the ERP does not know yet get this limit, so that benchmarks need no setup.
DEFAULT_CREDIT_LIMIT = 100_000_000.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, credit_limit REAL NOT NULL);
CREATE TABLE IF NOT EXISTS contracts (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, title TEXT NOT NULL, amount REAL NOT NULL,
    currency TEXT NOT NULL, reference TEXT, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credit_holds (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount REAL NOT NULL, currency TEXT NOT NULL,
    reference TEXT, released INTEGER NOT NULL DEFAULT 0);
"""

CUSTOMERS = [
    ("acme", "ACME Industrial GmbH", 5_000_000.0),
    ("globex", "Globex Trading Ltd", 50_000.0),
    ("initech", "Initech (on credit stop)", 0.0),
]


def seed(db: sqlite3.Connection) -> None:
    """Three customers: a large limit, a small one, and one on credit stop."""
    db.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)


def _next_id(db: sqlite3.Connection, table: str, prefix: str) -> str:
    count = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return f"{prefix}-{count + 1:06d}"


def _credit(db: sqlite3.Connection, customer_id: str) -> dict[str, Any]:
    row = db.execute("SELECT credit_limit FROM customers WHERE id = ?", (customer_id,)).fetchone()
    limit = row[0] if row else DEFAULT_CREDIT_LIMIT
    held = db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM credit_holds WHERE customer_id = ? AND released = 0",
        (customer_id,),
    ).fetchone()[0]
    return {"customer_id": customer_id, "limit": limit, "held": held, "available": limit - held}


def draft_contract(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /contracts."""
    body = req.body
    contract = {
        "contract_id": _next_id(tx.db, "contracts", "CT"),
        "customer_id": take(body, "customer_id", str),
        "title": take(body, "title", str),
        "amount": positive(body, "amount"),
        "currency": take(body, "currency", str, "EUR"),
        "reference": take(body, "reference", str, None),
        "status": "draft",
    }
    tx.db.execute("INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(contract.values()))
    tx.side_effect(contract["contract_id"], contract["reference"])
    return 201, contract


def void_contract(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /contracts/{contract_id}/void."""
    contract_id = req.path_params["contract_id"]
    _contract(tx.db, contract_id)
    newly = tx.compensate(contract_id)
    tx.db.execute("UPDATE contracts SET status = 'void' WHERE id = ?", (contract_id,))
    return 200, {"contract_id": contract_id, "status": "void", "voided_now": newly}


def get_contract(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /contracts/{contract_id}."""
    return 200, _contract(tx.db, req.path_params["contract_id"])


def _contract(db: sqlite3.Connection, contract_id: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM contracts WHERE id = ?", (contract_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_contract", f"no contract '{contract_id}'")
    data = dict(row)
    data["contract_id"] = data.pop("id")
    return data


def credit_check(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /credit/checks: approve and hold the amount, or refuse with 422."""
    body = req.body
    customer_id = take(body, "customer_id", str)
    amount = positive(body, "amount")
    currency = take(body, "currency", str, "EUR")
    reference = take(body, "reference", str, None)
    credit = _credit(tx.db, customer_id)
    if amount > credit["available"]:
        raise Refusal(
            422,
            "credit_limit_exceeded",
            f"customer '{customer_id}' has {credit['available']:.2f} of {credit['limit']:.2f} "
            f"available; {amount:.2f} was asked",
            **credit,
        )
    hold_id = _next_id(tx.db, "credit_holds", "H")
    tx.db.execute(
        "INSERT INTO credit_holds VALUES (?, ?, ?, ?, ?, 0)",
        (hold_id, customer_id, amount, currency, reference),
    )
    tx.side_effect(hold_id, reference)
    credit = _credit(tx.db, customer_id)
    return 201, {
        "hold_id": hold_id,
        "approved": True,
        "amount": amount,
        "currency": currency,
        "reference": reference,
        **credit,
    }


def release_credit(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """POST /credit/holds/{hold_id}/release (releasing twice is harmless)."""
    hold_id = req.path_params["hold_id"]
    row = tx.db.execute("SELECT customer_id FROM credit_holds WHERE id = ?", (hold_id,)).fetchone()
    if row is None:
        raise Refusal(404, "unknown_hold", f"no credit hold '{hold_id}'")
    newly = tx.compensate(hold_id)
    tx.db.execute("UPDATE credit_holds SET released = 1 WHERE id = ?", (hold_id,))
    return 200, {
        "hold_id": hold_id,
        "status": "released",
        "released_now": newly,
        **_credit(tx.db, row[0]),
    }


def get_credit(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """GET /customers/{customer_id}/credit."""
    return 200, _credit(tx.db, req.path_params["customer_id"])


def set_credit_limit(tx: Tx, req: SimRequest) -> tuple[int, dict[str, Any]]:
    """PUT /customers/{customer_id}/credit-limit."""
    customer_id = req.path_params["customer_id"]
    limit = take(req.body, "limit", float)
    tx.db.execute(
        "INSERT INTO customers VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET credit_limit = ?",
        (customer_id, customer_id, limit, limit),
    )
    return 200, _credit(tx.db, customer_id)


ERP = Domain(
    kind="erp",
    default_port=8101,
    schema=SCHEMA,
    seed=seed,
    routes=(
        Route("POST", "/contracts", "draft_contract", draft_contract, write=True),
        Route(
            "POST",
            "/contracts/{contract_id}/void",
            "void_contract",
            void_contract,
            write=True,
            compensation=True,
        ),
        Route("GET", "/contracts/{contract_id}", "get_contract", get_contract),
        Route("POST", "/credit/checks", "credit_check", credit_check, write=True),
        Route(
            "POST",
            "/credit/holds/{hold_id}/release",
            "release_credit",
            release_credit,
            write=True,
            compensation=True,
        ),
        Route("GET", "/customers/{customer_id}/credit", "get_credit", get_credit),
        Route(
            "PUT",
            "/customers/{customer_id}/credit-limit",
            "set_credit_limit",
            set_credit_limit,
            write=True,
        ),
    ),
)
