"""Statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Connection, Engine, LargeBinary, Table, func, literal
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Inspector
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql


def dialect_insert(engine: Engine, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT in the engine's dialect, which has its ``ON CONFLICT`` clauses. PostgreSQL's
    dialect module loads only here, for a PostgreSQL store (quick commands on SQLite skip it)."""
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


def insert_ignore(engine: Engine, table: Table) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the engine's dialect."""
    return dialect_insert(engine, table).on_conflict_do_nothing()


def upsert_add(engine: Engine, table: Table, keys: Sequence[str], column: str) -> Insert:
    """Insert a row, or add its ``column`` value to the existing row with the same ``keys``."""
    stmt = dialect_insert(engine, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: table.c[column] + stmt.excluded[column]},
    )


def blob_contains(
    conn: Connection, column: ColumnElement[Any], needle: bytes
) -> ColumnElement[bool]:
    """True where the binary ``column`` holds the bytes ``needle`` (case-sensitive)."""
    if conn.dialect.name == "sqlite":  # SQLite's LIKE never matches a blob; instr() compares bytes
        return func.instr(column, literal(needle, LargeBinary)) > 0
    # PostgreSQL: bytea LIKE bytea, with LIKE's own characters escaped (backslash by default).
    escaped = needle.replace(b"\\", b"\\\\").replace(b"%", b"\\%").replace(b"_", b"\\_")
    pattern = literal(b"%" + escaped + b"%", LargeBinary)
    return column.op("LIKE", return_type=Boolean)(pattern)  # SQLAlchemy's like() is for text


def single_writer(engine: Engine) -> bool:
    """Whether the store takes one writer at a time (SQLite): a process's writers then take
    turns in memory rather than sleep on the file's lock, and start nothing in parallel."""
    return engine.dialect.name == "sqlite"


def begin_write(conn: Connection) -> None:
    """On SQLite, take the write lock before the first read of the transaction about to start.

    A deferred SQLite transaction whose snapshot another writer moved past fails its first write
    at once (SQLITE_BUSY_SNAPSHOT), and a SAVEPOINT opened outside a transaction would commit on
    its RELEASE. PostgreSQL needs neither.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def hold_write_lock(conn: Connection) -> None:
    """On SQLite, make sure the transaction holds the write lock before a read-then-write.

    sqlite3 opens a transaction only at the first write, so reads before it see a state that
    another writer can change before this one writes: a transaction that has not written yet
    takes the lock now (as :func:`begin_write`); one that has already holds it. PostgreSQL:
    nothing (its callers take their own locks).
    """
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def placeholder(bind: Engine | Connection) -> str:
    """The driver's positional placeholder (sqlite3: ``?``, psycopg: ``%s``)."""
    return "?" if bind.dialect.paramstyle == "qmark" else "%s"


def integrity_errors(conn: Connection) -> int:
    """How many problems SQLite's integrity check reports (PostgreSQL: 0, it has none)."""
    if conn.dialect.name != "sqlite":
        return 0
    verdict = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
    return 0 if verdict == ["ok"] else len(verdict)


def deleted_rows_note(engine: Engine) -> dict[str, str]:
    """What happens to the bytes of deleted rows on this store (part of an erasure report)."""
    backend = engine.dialect.name
    if backend == "sqlite":
        note = (
            "SQLite: deleted rows were overwritten with zeros (secure_delete) and the "
            "write-ahead log was checkpointed into the database file"
        )
    else:
        note = (
            "PostgreSQL: deleted row versions stay in the data files until VACUUM reuses "
            "their space and are unreadable through SQL; the person's event data in them, and "
            "in every backup and WAL archive, is encrypted under data keys that were destroyed "
            "(crypto-shredding), so it is unreadable there too"
        )
    return {"backend": backend, "deleted_row_versions": note}


_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})


def data_schemas(inspector: Inspector) -> list[str]:
    """The schemas holding data (PostgreSQL's catalogs left out; SQLite has ``main``)."""
    return [s for s in inspector.get_schema_names() if s not in _SYSTEM_SCHEMAS]


def secure_delete(conn: Connection) -> None:
    """On SQLite, make this connection overwrite deleted content with zeros."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")


def flush_deleted(engine: Engine, attempts: int = 20) -> bool:
    """On SQLite, move the write-ahead log into the database and cut it to zero bytes (old page
    images of erased rows live there). True when the log is empty (always on PostgreSQL).

    This is how an erasure proves, through SQLite itself, that the log keeps no copy: the
    database file's own free space is zeroed by ``secure_delete``, which every store connection
    sets (``crmos.store.engine``).
    """
    if engine.dialect.name != "sqlite":
        return True
    for _ in range(attempts):
        with engine.connect() as conn:
            busy, frames, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        # ``frames`` is -1 when the database is not in WAL mode: there is no log to hold pages.
        if not busy and frames <= 0:
            return True
        time.sleep(0.05)  # a reader holds an old snapshot; it finishes within milliseconds
    return False
