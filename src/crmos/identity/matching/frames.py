"""Records for batch matching as DuckDB tables: CSV files read, checked and cleaned.

Every column is read as text (a postcode ``0800`` keeps its zero); names become safe SQL
identifiers; the columns a plan compares are cleaned by kind so that the two sides of a
comparison spell the same value the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from crmos.core.errors import Problem, ValidationError
from crmos.identity.matching.model import ColumnProfile, ColumnRole

SAMPLE_ROWS = 500
_UNSAFE = re.compile(r"[^0-9a-zA-Z_]+")


# DuckDB's reserved words (``duckdb_keywords()``) that a header could plausibly spell.
_RESERVED_WORDS = (
    "all and any array as asc both case cast check collate column constraint create default "
    "desc describe distinct do else end except false fetch for foreign from group having in "
    "into lateral leading limit not null offset on only or order pivot primary qualify "
    "references returning select show some summarize table then to trailing true union "
    "unique unpivot using when where window with"
)
RESERVED = frozenset(_RESERVED_WORDS.split())


def safe_names(columns: Sequence[str]) -> dict[str, str]:
    """Each column name as a lower-case SQL identifier, unique within the file.

    Letters outside ASCII are dropped (a header of only such letters becomes ``col``; the
    original header still names its kind); reserved words get a trailing ``_``.
    """
    out: dict[str, str] = {}
    for name in columns:
        base = _UNSAFE.sub("_", name.strip()).strip("_").lower() or "col"
        base = f"c_{base}" if base[0].isdigit() else base
        base = f"{base}_" if base in RESERVED else base
        safe, n = base, 2
        while safe in out.values():
            safe, n = f"{base}_{n}", n + 1
        out[name] = safe
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one job, without the progress bar it draws on long queries."""
    con = duckdb.connect()
    rows(con, "set enable_progress_bar = false")
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    """Every row of ``sql``; DuckDB wants each result read to its end before the next."""
    return con.execute(sql).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The first value of ``sql`` as an integer (0 for no row or ``NULL``)."""
    found = rows(con, sql)
    value = found[0][0] if found else None
    return int(value) if isinstance(value, int | float) else 0


def _literal(text: str) -> str:
    return text.replace("'", "''")


def load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, id_column: str
) -> tuple[str, dict[str, str]]:
    """Read ``path`` into ``table`` (text columns with safe names).

    Returns the id column's safe name and each safe name's header as written.

    Refuses, naming the column and the fix: an empty file, a missing id column, blank ids
    and duplicate ids.
    """
    where = str(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ValidationError(f"{where} is empty", [_empty(where)])
    source = f"read_csv('{_literal(where)}', all_varchar = true, header = true)"
    try:
        cursor = con.execute(f"select * from {source} limit 0")
        header = cursor.description or []
        cursor.fetchall()
    except duckdb.Error as exc:
        problem = Problem(where, f"cannot be read as CSV ({exc}); save it as UTF-8 CSV")
        raise ValidationError(f"{where} is not a CSV file", [problem]) from exc
    names = safe_names([str(d[0]) for d in header])
    if id_column not in names:
        listed = ", ".join(names)
        fix = f"no column '{id_column}' (columns: {listed}); pass --id-column with one of them"
        raise ValidationError(f"{where} has no id column", [Problem("--id-column", fix)])
    select = ", ".join(f"{_quote(src)} as {safe}" for src, safe in names.items())
    rows(con, f"create or replace table {table} as select {select} from {source}")
    ident = names[id_column]
    _check_ids(con, table, ident, where, id_column)
    return ident, {safe: src for src, safe in names.items()}


def _empty(where: str) -> Problem:
    return Problem(where, "has no header and no records; give a CSV with a header row")


def _check_ids(
    con: duckdb.DuckDBPyConnection, table: str, ident: str, where: str, id_column: str
) -> None:
    total, distinct, blank = (
        scalar(con, f"select count(*) from {table}"),
        scalar(con, f"select count(distinct {ident}) from {table}"),
        scalar(con, f"select count(*) from {table} where {ident} is null or trim({ident}) = ''"),
    )
    if total == 0:
        raise ValidationError(f"{where} has no records", [_empty(where)])
    if blank:
        fix = f"{blank} record(s) have an empty '{id_column}'; give every record an id"
        raise ValidationError(f"{where} has records without an id", [Problem(id_column, fix)])
    if distinct < total:
        dupes = rows(
            con, f"select {ident} from {table} group by 1 having count(*) > 1 order by 1 limit 3"
        )
        shown = ", ".join(repr(d[0]) for d in dupes)
        fix = (
            f"{total - distinct} duplicate id(s) such as {shown}; '{id_column}' must be "
            "unique (pick another --id-column or number the rows)"
        )
        raise ValidationError(f"{where} has duplicate ids", [Problem(id_column, fix)])


def profiles(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    columns: Sequence[str],
    labels: dict[str, str] | None = None,
) -> list[ColumnProfile]:
    """A repeatable sample of each column's non-blank values, per table.

    ``labels`` are the headers as written (``姓名`` for ``col``), which name the kinds.
    """
    out = []
    for column in columns:
        parts = tuple(
            tuple(
                str(r[0])
                for r in rows(
                    con,
                    f"select trim({column}) from {t} where trim({column}) <> '' "
                    f"order by hash({column}) limit {SAMPLE_ROWS}",
                )
            )
            for t in tables
        )
        values = tuple(v for part in parts for v in part)
        label = (labels or {}).get(column, column)
        out.append(ColumnProfile(column, values, len(set(values)), parts, label))
    return out


def common_columns(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> list[str]:
    """The columns every table has, in the first table's order."""
    per_table = [_columns(con, t) for t in tables]
    return [c for c in per_table[0] if all(c in cols for cols in per_table[1:])]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [str(r[0]) for r in rows(con, f"describe {table}")]


def clean_expression(role: ColumnRole, part: int = 0) -> str:
    """The SQL that cleans a column of this kind in input file ``part``; blanks become NULL."""
    col = role.column
    if role.kind == "date":
        return f"try_strptime(trim({col}), '{role.date_format_of(part)}')::date"
    if role.kind == "phone":
        return f"nullif(regexp_replace({col}, '[^0-9]', '', 'g'), '')"
    if role.kind in ("identifier", "postcode", "house_number"):
        return f"nullif(upper(regexp_replace({col}, '\\s+', '', 'g')), '')"
    return f"nullif(lower(trim(regexp_replace({col}, '\\s+', ' ', 'g'))), '')"


def _raw(column: str) -> str:
    return f"nullif(trim({column}), '')"


def clean_table(
    con: duckdb.DuckDBPyConnection,
    raw: str,
    table: str,
    ident: str,
    roles: Sequence[ColumnRole],
    *,
    part: int = 0,
    raw_text: bool = False,
) -> None:
    """``table``: the id and each compared column of ``raw`` (input file ``part``), cleaned.

    With ``raw_text`` the values stay as written (trimmed, blanks as ``NULL``), for user
    Splink settings that expect the file as it is.
    """
    cleaned = ", ".join(
        f"{_raw(r.column) if raw_text else clean_expression(r, part)} as {r.column}" for r in roles
    )
    rows(con, f"create or replace table {table} as select {ident}, {cleaned} from {raw}")
