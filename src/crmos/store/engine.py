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


def driverless_url(url: str) -> str:
    """``url`` without crmos's driver pin, for libraries that pick their own driver (DBOS)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def is_sqlite_url(url: str) -> bool:
    """True when ``url`` names a SQLite database (a file or in memory)."""
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def create_store_engine(settings: StoreSettings) -> Engine:
    """An engine for ``settings.url``; creates the SQLite file's directory when needed."""
    url = make_url(normalise_url(settings.url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.database, settings.sqlite_synchronous)
    # hide_parameters: a database error never quotes the row's values (personal data) into
    # exception messages, logs or stream failure records.
    return create_engine(
        url, pool_size=settings.pool_size, pool_pre_ping=True, hide_parameters=True
    )


def _sqlite_engine(database: str | None, synchronous: str) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # LIFO: the intake writer gets back the connection it used last, whose page cache is warm.
    # SQLite drops a connection's cache whenever another connection wrote in between, so
    # handing the writer each pooled connection in turn (FIFO) would start it cold each time.
    engine = create_engine(f"sqlite:///{database}", pool_use_lifo=True, hide_parameters=True)

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
        # Deleted content is overwritten with zeros, so an erased person's rows leave no copy
        # in free pages; with the WAL truncated after an erasure (``flush_deleted``) that is the
        # proof, given through SQLite, that nothing outside the live rows holds them.
        cur.execute("PRAGMA secure_delete=ON")
        # The event log's unique messageId index takes inserts at random places (SDKs send
        # random UUIDs), so appends are bound by page reads and writes, not by CPU:
        # - a 64 MiB page cache per connection (default 2 MiB) keeps the hot index pages;
        cur.execute("PRAGMA cache_size=-65536")
        # - reads that do miss it go through mmap instead of a pread and a copy each;
        cur.execute("PRAGMA mmap_size=268435456")
        # - a checkpoint every 10,000 WAL pages (default 1,000, which a single group commit
        #   of a few thousand events exceeds) copies a page rewritten by many commits back
        #   to the database once instead of once per commit;
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        # - and the WAL file is cut back to 64 MiB after a checkpoint instead of staying at
        #   its high-water mark.
        cur.execute("PRAGMA journal_size_limit=67108864")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    return engine


def checkpoint_engine(url: str, pool_size: int) -> Engine:
    """An engine for a SQLite database of checkpoints (DBOS's system database)."""
    path = url.removeprefix("sqlite:///")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # As DBOS's own SQLite engine (IMMEDIATE transactions serialise writers), plus WAL with
        # synchronous=NORMAL: a process crash loses no commit, and a checkpoint costs no fsync.
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        # As the store's connections: a deleted workflow (an erased person's run input and step
        # outputs) is overwritten with zeros, not left readable in a free page.
        dbapi_conn.execute("PRAGMA secure_delete=ON")

    return engine


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded SQLite store."""
    return engine.dialect.name == "sqlite"
