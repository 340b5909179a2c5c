"""Compliance's own data map and erasers: the person's regions, and the files under the data
directories (exports, demo inputs, log files an operator keeps there).

The records that prove lawful handling (requests, holds, consent history, complaints) stay:
they name the pseudonymous profile id only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Connection, delete

from crmos.core.datamap import DataMap, Erased, Holding, Person, mentions, redact
from crmos.store import in_chunks
from crmos.store.tables_compliance import profile_regions

DATA_MAP = DataMap(
    room="compliance",
    holdings=(Holding("table", "profile_regions", ("regions", "locale"), "profile_id"),),
    note="dsr_requests, legal_holds, consents and complaints are kept as proof of lawful "
    "handling: they hold the pseudonymous profile id and no personal strings.",
)

FILES = DataMap(
    room="files",
    holdings=(
        Holding(
            "file",
            "HOME/**",
            ("any text",),
            "the person's strings in a text file (exports, demo inputs, log files)",
            "pseudonymise",
        ),
    ),
    note="SQLite files are read through SQL by their rooms, never as files; model caches are "
    "the agent's. crmos writes no log file itself and keeps personal data out of its log "
    "records (core.logsafe), so a log file an operator keeps holds none from crmos.",
)
_SQLITE_SIDES = ("", "-wal", "-shm", "-journal")
_NEVER = frozenset({"master.key"})  # the key that wraps every data key: never rewritten


class RegionsEraser:
    """Deletes the regions and locale compliance derived for the person."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Forget where the person lives."""
        p = profile_regions.c
        deleted = conn.execute(
            delete(profile_regions).where(
                p.workspace_id == person.workspace_id, in_chunks(p.profile_id, person.profile_ids)
            )
        ).rowcount
        return Erased({"profile_regions": deleted or 0})


class FilesEraser:
    """Rewrites text files under the data directories that hold the person's strings.

    ``skip`` are folders other rooms erase themselves (the agent's model caches);
    ``databases`` the SQLite files there (the store's, DBOS's). Those are never opened as
    files: closing any handle on a SQLite file drops every POSIX lock this process holds on it.
    """

    def __init__(
        self, roots: Sequence[Path], skip: Sequence[Path] = (), databases: Sequence[Path] = ()
    ) -> None:
        self._roots = [Path(r) for r in roots]
        self._skip = [Path(s).resolve() for s in skip]
        self._databases = {
            Path(f"{Path(db).resolve()}{side}") for db in databases for side in _SQLITE_SIDES
        }

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Pseudonymise the person's strings in every text file; binary files are reported."""
        del conn  # files only
        changed = 0
        binary: list[str] = []
        for path in self._files():
            try:
                data = path.read_bytes()
            except OSError:
                continue  # vanished meanwhile: nothing left to rewrite
            try:
                body = data.decode("utf-8")
            except UnicodeDecodeError:
                if any(n.encode() in data for n in person.needles):
                    binary.append(path.name)
                continue
            if mentions(body, person.needles):
                _replace(path, redact(body, person.needles))
                changed += 1
        unfinished = tuple(f"binary file {name} holds the person's data" for name in binary)
        return Erased({"files": changed}, unfinished)

    def _files(self) -> Iterator[Path]:
        seen: set[Path] = set()
        for root in self._roots:
            if not root.exists():
                continue
            for folder, dirs, names in os.walk(root):
                here = Path(folder).resolve()
                dirs[:] = [d for d in dirs if (here / d) not in self._skip]
                for name in names:
                    path = here / name
                    if (
                        path in seen
                        or path in self._databases
                        or path.is_symlink()
                        or name in _NEVER
                    ):
                        continue
                    seen.add(path)
                    yield path


def _replace(path: Path, body: str) -> None:
    """Write ``body`` over ``path`` atomically (a crash leaves the old or the new file)."""
    tmp = path.with_name(path.name + ".erasing")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
