"""SQLite database files are opened only by SQLite.

Closing any file descriptor on a SQLite file drops every POSIX lock the process holds on it
(SQLite's "How To Corrupt" page, section 2.2), so a ``crmos`` command that exits next believes
it is the last user, checkpoints and deletes the write-ahead log that a running server is still
appending to. Code that walks the data directories (the erasure proof scan, backups) therefore
asks :func:`split_files` which paths are SQLite's and reads those only through SQLite.

A database is known by its path (the store engine's, DBOS's, any a caller names) or by a file
name SQLite databases are given here (``.db``, ``.sqlite`` ...); its ``-wal``, ``-shm`` and
``-journal`` siblings belong to it. Reading a file's header to tell would itself open it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

SIBLINGS = ("-wal", "-shm", "-journal")
DATABASE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")


def database_path(engine: Engine) -> Path | None:
    """The file of a SQLite engine (None for PostgreSQL and in-memory databases)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database.removeprefix("file:").partition("?")[0]).resolve()


def is_sqlite_file(path: Path, databases: Iterable[Path] = ()) -> bool:
    """True when ``path`` is one of ``databases``, is named like a SQLite database, or is the
    ``-wal``/``-shm``/``-journal`` of one of those."""
    path = path.resolve()
    known = {d.resolve() for d in databases}
    main = _owner(path)
    return path in known or main in known or _named_like_database(main)


def split_files(
    roots: Iterable[Path], databases: Iterable[Path] = ()
) -> tuple[list[Path], list[Path]]:
    """The SQLite databases and the other regular files under ``roots``, each once.

    Only the main file of a database is listed (never its ``-wal``/``-shm``/``-journal``);
    ``databases`` outside ``roots`` are listed too when they exist.
    """
    known = [d.resolve() for d in databases]
    found: list[Path] = [d for d in known if d.exists()]
    others: list[Path] = []
    for path in _walk(roots):
        if not is_sqlite_file(path, known):
            others.append(path)
        elif path.name.endswith(SIBLINGS):
            continue
        elif path not in found:
            found.append(path)
    return found, others


def open_database(path: Path, *, read_only: bool = True) -> Engine:
    """A SQLAlchemy engine on another SQLite database (no pool: dispose when done)."""
    mode = "ro" if read_only else "rw"
    return create_engine(
        f"sqlite:///file:{path}?mode={mode}&uri=true",
        poolclass=NullPool,
        connect_args={"timeout": 10},
    )


def _owner(path: Path) -> Path:
    """The database a sibling file belongs to (the path itself otherwise)."""
    for suffix in SIBLINGS:
        if path.name.endswith(suffix):
            return path.with_name(path.name.removesuffix(suffix))
    return path


def _named_like_database(path: Path) -> bool:
    return path.name.lower().endswith(DATABASE_SUFFIXES)


def _walk(roots: Iterable[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            continue
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder, name)
                if path.is_file() and not path.is_symlink():
                    resolved = path.resolve()
                    if resolved not in seen:
                        seen.add(resolved)
                        yield resolved
