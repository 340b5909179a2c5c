"""Find (and pseudonymise) copies of a person's identifiers in every table and every file.

The scan reflects the live database, so tables of every room and of embedded engines (DBOS)
are covered, not only those this code declares. Text columns are searched for each identifier
(also in its JSON-escaped spelling); the other files under the data directories are searched
byte-wise. SQLite databases are never opened as files (``crmos.store.sqlitefiles``: closing such
a handle would drop the server's locks): other SQLite databases found there (DBOS's) are
searched through SQL too. Deleted rows are proven unreadable through SQLite itself: every store
connection sets ``secure_delete`` (free space is zeroed) and the scan truncates each
write-ahead log first; a log that cannot be emptied is reported as a finding. Parquet files
(the event tiers, wherever the manifest says they are) are compressed, so they are read row by
row through DuckDB instead of byte-wise.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    Text,
    case,
    cast,
    func,
    inspect,
    literal,
    or_,
    select,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.sql.elements import ColumnElement

from crmos.compliance.model import Finding, Outcome, ScanResult
from crmos.store import flush_deleted, scan_parquet, tier_file_urls
from crmos.store.dialect import blob_contains, data_schemas
from crmos.store.erasure import declared_table
from crmos.store.sqlitefiles import database_path, open_database, split_files

# Never rewritten by the sweep: the audit chain would break, and the rest holds no personal data.
PROTECTED = frozenset({"audit_log", "alembic_version", "stream_offsets", "subject_keys"})
_TEXT = (sqltypes.String, sqltypes.Text, sqltypes.JSON)
PARQUET = ".parquet"


def spellings(needles: Iterable[str]) -> list[str]:
    """Each needle as written and as JSON escapes it (``Müller`` -> ``M\\u00fcller``)."""
    out: set[str] = set()
    for needle in needles:
        for form in (needle, needle.casefold()):
            out.add(form)
            out.add(json.dumps(form)[1:-1])
    return sorted(out)


def text_tables(conn: Connection, binary: bool = False) -> list[tuple[Table, list[str]]]:
    """Every table in the database (all schemas) with its text columns (and, with ``binary``,
    its binary ones: a raw e-mail file, a blob another engine keeps), reflected live."""
    inspector = inspect(conn)
    found: list[tuple[Table, list[str]]] = []
    schemas: list[str | None] = list(data_schemas(inspector))
    kinds = (*_TEXT, sqltypes.LargeBinary) if binary else _TEXT
    for schema in schemas or [None]:
        default = schema in (None, inspector.default_schema_name)
        for name in inspector.get_table_names(schema=schema):
            columns = inspector.get_columns(name, schema=schema)
            texts = {c["name"]: c["type"] for c in columns if isinstance(c["type"], kinds)}
            if texts:
                table = declared_table(name) if default else None
                found.append(
                    (table if table is not None else _light(name, texts, schema), list(texts))
                )
    return found


def scan_tables(conn: Connection, needles: Sequence[str]) -> tuple[list[Finding], int, int]:
    """Rows per table.column holding any needle; also how many tables and columns were read."""
    if not needles:
        return [], 0, 0
    findings: list[Finding] = []
    tables = text_tables(conn, binary=True)
    columns = 0
    for table, names in tables:
        columns += len(names)
        counts = [
            func.sum(case((_holds(conn, table.c[n], needles), 1), else_=0)).label(n) for n in names
        ]
        row = conn.execute(select(*counts).select_from(table)).one()
        findings += [
            Finding(f"{_name(table)}.{n}", "table", int(row[i] or 0))
            for i, n in enumerate(names)
            if row[i]
        ]
    return findings, len(tables), columns


def sweep_tables(conn: Connection, needles: Sequence[str]) -> list[Outcome]:
    """Replace each needle by a stable pseudonym wherever it is left (protected tables aside).

    Only the columns a scan finds are rewritten. Digit-only needles are never rewritten: they
    could be part of a number (a timestamp); the verification scan still reports them.
    """
    rewritable = [n for n in spellings(needles) if not n.isdigit()]
    findings, _, _ = scan_tables(conn, rewritable)
    hit: dict[str, list[str]] = {}
    for finding in findings:
        table_name, _, column = finding.where.rpartition(".")
        hit.setdefault(table_name, []).append(column)
    outcomes: list[Outcome] = []
    for table, names in text_tables(conn):
        columns = [c for c in hit.get(_name(table), []) if c in names]  # text ones only
        if table.name in PROTECTED or not columns:
            continue
        changed = sum(_rewrite(conn, table, c, rewritable) for c in columns)
        outcomes.append(Outcome(_name(table), "store", "pseudonymised", changed))
    return outcomes


def _rewrite(conn: Connection, table: Table, column: str, needles: Sequence[str]) -> int:
    col = table.c[column]
    as_text = _as_text(col)
    changed = 0
    for needle in needles:
        replaced: ColumnElement[Any] = func.replace(
            as_text, literal(needle), literal(_alias(needle))
        )
        if as_text is not col:
            replaced = cast(replaced, col.type)
        stmt = (
            table.update()
            .where(as_text.contains(needle, autoescape=True))
            .values({column: replaced})
        )
        changed += conn.execute(stmt).rowcount or 0
    return changed


def scan_files(
    roots: Iterable[Path], needles: Sequence[str], databases: Iterable[Path] = ()
) -> tuple[list[Finding], int, int]:
    """Files under ``roots`` holding any needle; also how many files and bytes were read.

    SQLite databases (``databases`` and files named like one) and their -wal/-shm/-journal are
    skipped: only SQLite may open them (:func:`scan_databases` reads them through SQL).
    """
    patterns = [n.encode() for n in needles]
    findings: list[Finding] = []
    files = size = 0
    for path in split_files(roots, databases)[1]:
        if path.suffix == PARQUET:
            continue  # compressed: read through DuckDB by scan_tiers
        files += 1
        try:
            length = path.stat().st_size
            size += length
            if length and _file_holds(path, patterns):
                findings.append(Finding(str(path), "file", 1))
        except OSError:
            continue  # vanished while scanning (a rotated log file): nothing left to read
    return findings, files, size


def scan_tiers(
    conn: Connection, roots: Iterable[Path], needles: Sequence[str]
) -> tuple[list[Finding], int]:
    """Parquet files (the manifest's warm and cold files wherever they are, and any other
    under ``roots``, listed or not) searched row by row through DuckDB; also how many."""
    urls = dict.fromkeys(tier_file_urls(conn))
    for root in roots:
        if Path(root).exists():
            urls.update(dict.fromkeys(str(p.resolve()) for p in Path(root).rglob(f"*{PARQUET}")))
    found = scan_parquet(list(urls), needles)
    return [Finding(url, "file", count) for url, count in found], len(urls)


def scan_databases(paths: Iterable[Path], needles: Sequence[str]) -> tuple[list[Finding], int, int]:
    """Other SQLite databases (DBOS's) searched through SQL, their logs emptied first."""
    findings: list[Finding] = []
    tables = columns = 0
    for path in paths:
        engine = open_database(path, read_only=False)
        try:
            if not flush_deleted(engine):
                findings.append(Finding(f"{path}-wal (could not be emptied)", "file", 1))
            with engine.connect() as conn:
                found, n_tables, n_columns = scan_tables(conn, needles)
        finally:
            engine.dispose()
        findings += [Finding(f"{path}:{f.where}", f.kind, f.count) for f in found]
        tables, columns = tables + n_tables, columns + n_columns
    return findings, tables, columns


def scan(
    engine: Engine, roots: Iterable[Path], needles: Sequence[str], databases: Iterable[Path] = ()
) -> ScanResult:
    """Every table of the store and of the SQLite databases under ``roots`` (and of
    ``databases``), and every other file under ``roots``, searched for every spelling of
    ``needles``."""
    started = time.perf_counter()
    roots = list(roots)
    variants = spellings(needles)
    main = database_path(engine)
    known = [*databases, *([main] if main else [])]
    others = [d for d in split_files(roots, known)[0] if d != main]
    # Empty the store's write-ahead log first: old page images of erased rows live there.
    in_log = (
        [] if flush_deleted(engine) else [Finding(f"{main}-wal (could not be emptied)", "file", 1)]
    )
    with engine.connect() as conn:
        found, tables, columns = scan_tables(conn, variants)
        in_tiers, tier_files = scan_tiers(conn, roots, variants)
    in_other, more_tables, more_columns = scan_databases(others, variants)
    in_files, files, size = scan_files(roots, variants, known)
    return ScanResult(
        tables_scanned=tables + more_tables,
        columns_scanned=columns + more_columns,
        files_scanned=files + tier_files,
        bytes_scanned=size,
        needles=len(needles),
        findings=tuple(in_log + found + in_other + in_files + in_tiers),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _holds(conn: Connection, column: Column[Any], needles: Sequence[str]) -> ColumnElement[bool]:
    if isinstance(column.type, sqltypes.LargeBinary):
        return or_(*(blob_contains(conn, column, n.encode()) for n in needles))
    as_text = _as_text(column)
    return or_(*(as_text.icontains(n, autoescape=True) for n in needles))


def _alias(needle: str) -> str:
    return "erased:" + hashlib.sha256(needle.encode()).hexdigest()[:12]


def _light(name: str, columns: dict[str, Any], schema: str | None) -> Table:
    return Table(name, MetaData(), *(Column(c, t) for c, t in columns.items()), schema=schema)


def _as_text(column: Column[Any]) -> ColumnElement[str]:
    """JSON columns (PostgreSQL's jsonb) are searched and rewritten as their text."""
    if isinstance(column.type, sqltypes.JSON):
        return cast(column, Text)
    return column


def _name(table: Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name


def _file_holds(path: Path, patterns: list[bytes]) -> bool:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(data.find(p) != -1 for p in patterns)
