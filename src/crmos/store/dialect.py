"""Statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_ignore(engine: Engine, table: Table) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the engine's dialect."""
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return postgresql.insert(table).on_conflict_do_nothing()


def upsert_add(engine: Engine, table: Table, keys: Sequence[str], column: str) -> Insert:
    """Insert a row, or add its ``column`` value to the existing row with the same ``keys``."""
    stmt: sqlite.Insert | postgresql.Insert
    stmt = sqlite.insert(table) if engine.dialect.name == "sqlite" else postgresql.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: table.c[column] + stmt.excluded[column]},
    )
