"""The erasure proof scan reads SQLite databases only through SQLite (issue 13, finding 1)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from crmos.bootstrap import Container
from crmos.compliance import scan
from crmos.store import is_sqlite
from crmos.store.sqlitefiles import database_path, is_sqlite_file, split_files


def test_sqlite_files_are_told_apart_by_path_and_name_without_opening_them(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store.bin"  # a database with an unusual name, known by its path
    names = ["store.bin", "store.bin-wal", "dbos.sqlite", "dbos.sqlite-shm", "x.db-journal"]
    for name in [*names, "notes.txt", "export.json", "sqlite.txt"]:
        (tmp_path / name).write_bytes(b"")
    databases, others = split_files([tmp_path], [store])
    # A journal is SQLite's even while its database is missing (a hot journal awaits it).
    assert sorted(p.name for p in databases) == ["dbos.sqlite", "store.bin"]
    assert sorted(p.name for p in others) == ["export.json", "notes.txt", "sqlite.txt"]
    assert is_sqlite_file(tmp_path / "store.bin-shm", [store])
    assert not is_sqlite_file(tmp_path / "store.bin.txt", [store])


def test_the_scan_finds_a_person_in_another_sqlite_database_through_sql_and_in_plain_files(
    container: Container,
) -> None:
    home = container.settings.home
    home.mkdir(parents=True, exist_ok=True)
    other = sqlite3.connect(home / "dbos.sqlite")
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE workflow_inputs (inputs TEXT)")
    other.execute('INSERT INTO workflow_inputs VALUES (\'{"email": "hanna@example.de"}\')')
    other.commit()
    (home / "export.jsonl").write_text('{"name": "Hanna Roth"}\n')
    with container.engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (note TEXT)"))
        conn.execute(text("INSERT INTO scratch VALUES ('call hanna@example.de')"))

    proof = scan(container.engine, [home], ["hanna@example.de", "Hanna Roth"])

    where = {f.where for f in proof.findings}
    assert any(w.endswith("scratch.note") for w in where)
    assert f"{(home / 'dbos.sqlite').resolve()}:main.workflow_inputs.inputs" in where
    assert str((home / "export.jsonl").resolve()) in where
    assert not any(w.endswith(("-wal", "-shm", ".db", ".sqlite")) for w in where)
    other.close()


def test_the_scan_leaves_the_store_write_ahead_log_empty(container: Container) -> None:
    if not is_sqlite(container.engine):
        assert database_path(container.engine) is None
        return
    with container.engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (note TEXT)"))
        conn.execute(text("INSERT INTO scratch VALUES ('x')"))
    db = database_path(container.engine)
    assert db is not None
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0  # stat() reads the directory entry, not the file
    proof = scan(container.engine, [db.parent], ["nobody@example.org"])
    assert proof.readable_copies == 0
    assert wal.stat().st_size == 0


def test_the_scan_reads_binary_columns_byte_for_byte(container: Container) -> None:
    blob = "BLOB" if is_sqlite(container.engine) else "BYTEA"
    with container.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE raw_files (data {blob})"))
        conn.execute(
            text("INSERT INTO raw_files VALUES (:d)"),
            {"d": b"From: Hanna_Roth <h@example.de>\r\n\xff\x00 total 50%"},
        )
    found = scan(container.engine, [], ["Hanna_Roth"]).findings
    assert [(f.where.rpartition(".")[2], f.count) for f in found] == [("data", 1)]
    # LIKE's own characters in a needle are literal: "50%x" is not "50% total ..."
    assert scan(container.engine, [], ["Hanna%Roth", "50%x"]).findings == ()
