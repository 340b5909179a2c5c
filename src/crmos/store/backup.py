"""Backups of the store: SQLite's online backup API, pg_dump/pg_restore for PostgreSQL.

A backup is a folder: ``store.sqlite`` (a consistent SQLite copy, taken while crmos runs) or
``store.pgdump`` (pg_dump's custom format), any further SQLite databases the caller names (the
saga engine's ``dbos.sqlite`` on the embedded store), and ``manifest.json``. The master key is
never part of it: keep it apart, or the backup's encrypted personal data is lost with it.

A restore refuses to run while another process uses the store (SQLite: SQLite itself refuses
an exclusive lock; PostgreSQL: another session is connected). It keeps the erasures made since
the backup: the data keys destroyed in the store it replaces are destroyed again in the
restored one (crypto-shredding), and it returns the erased profiles so the caller can erase
them again from the restored rows.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import DBAPIError

from crmos.core.clock import utcnow
from crmos.core.errors import Conflict, NotFound, StoreError
from crmos.store.migrate import current_revision
from crmos.store.sqlitefiles import database_path
from crmos.store.tables import subject_keys
from crmos.store.tables_compliance import dsr_requests

MANIFEST = "manifest.json"
SQLITE_FILE = "store.sqlite"
PG_FILE = "store.pgdump"
_PAGES_PER_STEP = 1024  # the online backup copies this many pages, then lets writers in


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did: keys destroyed again, and profiles erased since the backup."""

    revision: str | None
    reshredded: int
    erased_profiles: tuple[tuple[str, str], ...]


def backup(
    engine: Engine, folder: Path, extra: Mapping[str, Path] | None = None
) -> dict[str, object]:
    """Write a backup of the store (and of the SQLite databases in ``extra``, name -> path)
    into the new or empty ``folder``; returns its manifest."""
    if folder.exists() and any(folder.iterdir()):
        raise Conflict("backup folder", str(folder), "name a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    main = database_path(engine)
    if main is not None:
        _sqlite_copy(main, folder / SQLITE_FILE)
        files = [SQLITE_FILE]
    else:
        _pg_tool("pg_dump", engine, "--format=custom", f"--file={folder / PG_FILE}")
        files = [PG_FILE]
    for name, path in (extra or {}).items():
        if path.exists():
            _sqlite_copy(path, folder / f"{name}.sqlite")
            files.append(f"{name}.sqlite")
    manifest: dict[str, object] = {
        "created": utcnow().isoformat(),
        "dialect": engine.dialect.name,
        "revision": current_revision(engine),
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(engine: Engine, folder: Path, extra: Mapping[str, Path] | None = None) -> Restored:
    """Replace the store (and the ``extra`` SQLite databases) with the backup in ``folder``.

    Refused while another process uses the store. Keys destroyed in the store being replaced
    are destroyed again in the restored one.
    """
    manifest = _manifest(folder, engine.dialect.name)
    shredded, erased = _erasures(engine)
    engine.dispose()  # this process's own pooled connections would count as other users
    main = database_path(engine)
    copies = {path: folder / f"{name}.sqlite" for name, path in (extra or {}).items()}
    copies = {path: src for path, src in copies.items() if src.name in manifest["files"]}
    if main is not None:
        copies = {main: folder / SQLITE_FILE, **copies}
    for source in copies.values():
        _check(source)
    # Every database is locked before any is replaced: all of them are restored, or none.
    locked: list[tuple[sqlite3.Connection, Path]] = []
    try:
        for target, source in copies.items():
            locked.append((_lock(target), source))
        if main is None:
            _pg_restore(engine, folder / PG_FILE)
        for live, source in locked:
            _sqlite_copy_in(source, live)
    finally:
        for live, _ in locked:
            live.close()
    with engine.begin() as conn:
        again = _shred(conn, shredded)
    return Restored(current_revision(engine), again, erased)


def _manifest(folder: Path, dialect: str) -> dict[str, list[str]]:
    path = folder / MANIFEST
    if not path.is_file():
        raise NotFound("backup", str(folder))
    manifest = json.loads(path.read_text())
    if manifest.get("dialect") != dialect:
        raise StoreError(
            "restore", f"the backup is of a {manifest.get('dialect')} store, this is {dialect}"
        )
    return dict(manifest)


def _erasures(engine: Engine) -> tuple[list[tuple[str, int]], tuple[tuple[str, str], ...]]:
    """Destroyed key ids (with when) and erased profiles of the store about to be replaced."""
    k, d = subject_keys.c, dsr_requests.c
    try:
        with engine.connect() as conn:
            keys = conn.execute(select(k.id, k.destroyed_ms).where(k.wrapped.is_(None))).all()
            # "incomplete" erasures deleted what they could too: do that again as well.
            done = d.kind == "erasure", d.status.in_(["completed", "incomplete"])
            erased = conn.execute(select(d.workspace_id, d.profile_id).where(*done)).all()
    except DBAPIError:  # a store never migrated has nothing erased to keep
        return [], ()
    return [(str(i), int(ms or 0)) for i, ms in keys], tuple((str(w), str(p)) for w, p in erased)


def _shred(conn: Connection, keys: list[tuple[str, int]]) -> int:
    """Destroy the keys again in the restored store (as ``Vault.destroy`` does)."""
    done = 0
    for key_id, destroyed_ms in keys:
        stmt = (
            update(subject_keys)
            .where(subject_keys.c.id == key_id, subject_keys.c.wrapped.is_not(None))
            .values(wrapped=None, subject="erased:" + key_id, destroyed_ms=destroyed_ms)
        )
        done += conn.execute(stmt).rowcount or 0
    return done


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while others go on writing."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=_PAGES_PER_STEP)
        # A standalone file: no -wal beside it for anyone to lose.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _lock(target: Path) -> sqlite3.Connection:
    """A connection holding ``target`` exclusively; refused while anyone else has it open."""
    target.parent.mkdir(parents=True, exist_ok=True)
    live = sqlite3.connect(target, timeout=0.5, isolation_level=None)
    # In exclusive locking mode SQLite keeps the lock once taken, and refuses it while any
    # other connection (a running `crmos serve`, another command) has the database open.
    live.execute("PRAGMA locking_mode=EXCLUSIVE")
    try:
        live.execute("BEGIN EXCLUSIVE")
        live.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        live.close()
        raise StoreError(
            "restore", f"{target} is in use by another process; stop crmos serve first"
        ) from exc
    return live


def _check(source: Path) -> None:
    """Refuse a missing or damaged backup file before anything is replaced."""
    if not source.is_file():
        raise NotFound("backup file", str(source))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        ok = src.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        ok = False
    finally:
        src.close()
    if not ok:
        raise StoreError("restore", f"{source} is damaged or not a SQLite database")


def _sqlite_copy_in(source: Path, live: sqlite3.Connection) -> None:
    """Copy the backup ``source`` into the locked database ``live``."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.backup(live)
        live.execute("PRAGMA journal_mode=WAL")
    finally:
        src.close()


def _pg_restore(engine: Engine, dump: Path) -> None:
    with engine.connect() as conn:
        others = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
        ).scalar_one()
    engine.dispose()
    if others:
        raise StoreError(
            "restore", f"{others} other sessions use the database; stop crmos serve first"
        )
    _pg_tool(
        "pg_restore", engine, "--clean", "--if-exists", "--no-owner", "--single-transaction",
        str(dump),
    )  # fmt: skip


def _pg_tool(name: str, engine: Engine, *args: str) -> None:
    """Run pg_dump or pg_restore with the engine's connection (password by environment)."""
    url = engine.url
    env = {
        **os.environ,
        "PGHOST": url.host or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "",
    }
    db = ["--dbname", url.database or ""]
    done = subprocess.run(
        [_pg_binary(name), *args, *db], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StoreError(name, done.stderr.strip()[-2000:] or f"exit status {done.returncode}")


def _pg_binary(name: str) -> str:
    """``name`` on PATH, else the newest in /usr/lib/postgresql/*/bin (Debian's layout)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if not candidates:
        raise StoreError(name, f"{name} not found on PATH or in /usr/lib/postgresql/*/bin")
    return candidates[-1]


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0
