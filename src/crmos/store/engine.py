"""Engines from URLs. SQLite and PostgreSQL quirks live here and in ``dialect.py`` only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from crmos.core.settings import StoreSettings


def normalise_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg 3, the driver crmos ships with."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create_store_engine(settings: StoreSettings) -> Engine:
    """An engine for ``settings.url``; creates the SQLite file's directory when needed."""
    url = make_url(normalise_url(settings.url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.database, settings.sqlite_synchronous)
    return create_engine(url, pool_size=settings.pool_size, pool_pre_ping=True)


def _sqlite_engine(database: str | None, synchronous: str) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{database}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL lets readers (API queries, `events tail`) run while the intake writer commits.
        cur.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never loses a committed transaction to a process crash.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        # Concurrent writers (CLI ingest beside a server) wait instead of failing at once.
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded SQLite store."""
    return engine.dialect.name == "sqlite"
