"""A simulator's data: one SQLite database (a file with ``--state``, else in memory).

Besides the domain tables, every simulator keeps the answers it gave per idempotency key, a
ledger of side effects (and whether each was compensated), and counters, so that a test or a
benchmark can count duplicate side effects and side effects left uncompensated.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COMMON_SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_idempotency (
    operation TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (operation, key));
CREATE TABLE IF NOT EXISTS sim_side_effects (
    id INTEGER PRIMARY KEY, operation TEXT NOT NULL, resource TEXT NOT NULL UNIQUE,
    reference TEXT, fingerprint TEXT NOT NULL, key TEXT NOT NULL, compensable INTEGER NOT NULL,
    at_ms INTEGER NOT NULL, compensated_at_ms INTEGER, compensation_key TEXT);
CREATE TABLE IF NOT EXISTS sim_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
COUNTERS = (
    "requests",
    "writes",
    "replays",
    "refusals",
    "injected_transient",
    "injected_permanent",
    "crashes",
)

Seed = Callable[[sqlite3.Connection], None]


class SimState:
    """The database of one simulator; every method holds :attr:`lock` while it works."""

    def __init__(self, path: Path | None, schema: str, seed: Seed) -> None:
        self.lock = threading.RLock()
        self.schema = schema
        self.seed = seed
        target = str(path) if path is not None else ":memory:"
        self.db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        if path is not None:
            # WAL + NORMAL: a committed answer survives the process being killed (--crash-after).
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        with self.lock:
            fresh = not self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sim_counters'"
            ).fetchone()
            self.db.executescript(COMMON_SCHEMA + self.schema)
            if fresh:
                with self.transaction() as db:
                    db.executemany(
                        "INSERT INTO sim_counters VALUES (?, 0)", [(c,) for c in COUNTERS]
                    )
                    self.seed(db)

    def reset(self) -> None:
        """Back to the seeded state, counters at zero."""
        with self.lock:
            tables = [
                r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                self.db.execute(f'DROP TABLE "{table}"')
            self._create()

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back when the block raises."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def count(self, name: str, by: int = 1) -> None:
        """Add to a counter (inside or outside a transaction)."""
        with self.lock:
            self.db.execute("UPDATE sim_counters SET value = value + ? WHERE name = ?", (by, name))

    def replay(self, operation: str, key: str) -> tuple[str, int, dict[str, Any]] | None:
        """The answer already given to ``key`` for ``operation``: (fingerprint, status, body)."""
        row = self.db.execute(
            "SELECT fingerprint, status, body FROM sim_idempotency WHERE operation=? AND key=?",
            (operation, key),
        ).fetchone()
        return None if row is None else (row[0], row[1], json.loads(row[2]))

    def remember(
        self, operation: str, key: str, fingerprint: str, status: int, body: dict[str, Any]
    ) -> None:
        """Keep the answer so that the same key gets the same answer again."""
        self.db.execute(
            "INSERT INTO sim_idempotency VALUES (?, ?, ?, ?, ?)",
            (operation, key, fingerprint, status, json.dumps(body)),
        )

    def side_effect(
        self,
        operation: str,
        resource: str,
        reference: str | None,
        fingerprint: str,
        key: str,
        compensable: bool = True,
    ) -> None:
        """Record that ``resource`` was created (a hold, a reservation, a lock ...)."""
        self.db.execute(
            "INSERT INTO sim_side_effects (operation, resource, reference, fingerprint, key, "
            "compensable, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (operation, resource, reference, fingerprint, key, int(compensable), _now_ms()),
        )

    def compensated(self, resource: str, key: str) -> bool:
        """Mark ``resource`` undone; False when it already was (nothing happens twice)."""
        cursor = self.db.execute(
            "UPDATE sim_side_effects SET compensated_at_ms = ?, compensation_key = ? "
            "WHERE resource = ? AND compensated_at_ms IS NULL",
            (_now_ms(), key, resource),
        )
        return cursor.rowcount == 1

    def stats(self) -> dict[str, Any]:
        """Counters, side effects, compensations, duplicates and the state per reference."""
        with self.lock:
            out: dict[str, Any] = dict(self.db.execute("SELECT name, value FROM sim_counters"))
            row = self.db.execute(
                "SELECT COUNT(*), COUNT(compensated_at_ms), "
                "COALESCE(SUM(compensable AND compensated_at_ms IS NULL), 0) FROM sim_side_effects"
            ).fetchone()
            out["side_effects"], out["compensations"], out["open_side_effects"] = row
            out["duplicate_side_effects"] = self.db.execute(
                "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM sim_side_effects "
                "GROUP BY operation, fingerprint HAVING n > 1)"
            ).fetchone()[0]
            out["references"] = {
                ref: {"applied": applied, "compensated": comp, "open": open_}
                for ref, applied, comp, open_ in self.db.execute(
                    "SELECT reference, COUNT(*), COUNT(compensated_at_ms), "
                    "SUM(compensable AND compensated_at_ms IS NULL) FROM sim_side_effects "
                    "WHERE reference IS NOT NULL GROUP BY reference"
                )
            }
            return out

    def ledger(self, reference: str | None = None) -> list[dict[str, Any]]:
        """Every side effect (of one reference), oldest first."""
        query = "SELECT * FROM sim_side_effects"
        args: tuple[str, ...] = ()
        if reference is not None:
            query, args = query + " WHERE reference = ?", (reference,)
        with self.lock:
            return [dict(row) for row in self.db.execute(query + " ORDER BY id", args)]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
