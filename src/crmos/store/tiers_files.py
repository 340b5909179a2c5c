"""Parquet files of the warm and cold tiers: the Arrow schema of an event row, durable writes
to a local directory or any fsspec URL, read-back verification and the content checksum.

A local file is written under a temporary name, fsynced, renamed into place and its directory
fsynced, so a file that exists under its final name is complete. Object stores (fsspec) make
an object visible only once its upload completed, which gives the same guarantee.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from crmos.core.errors import StoreError

SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("workspace_id", pa.string()),
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("name", pa.string()),
        ("ts_ms", pa.int64()),
        ("received_ms", pa.int64()),
        ("touchpoint", pa.string()),
        ("body", pa.string()),
        ("key_id", pa.string()),
        ("pii", pa.binary()),
        ("tags", pa.string()),
    ]
)
COLUMNS = tuple(SCHEMA.names)
_ROW_GROUP = 8192  # rows per row group: small enough that a person's rows skip most of a file


@dataclass(frozen=True, slots=True)
class Written:
    """A file that was written, read back and found equal to what was meant."""

    url: str
    rows: int
    bytes: int
    checksum: str


def table_of(rows: Sequence[Sequence[Any]]) -> pa.Table:
    """Rows (values in :data:`COLUMNS` order) as an Arrow table of :data:`SCHEMA`."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[]] * len(COLUMNS)
    return pa.table(
        [pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


def checksum(table: pa.Table) -> str:
    """SHA-256 over every value of every column, in row order, independent of chunking.

    Each column is hashed through its Arrow buffers (validity, offsets, data) after combining
    chunks and normalising offsets, so equal content gives equal digests whichever file or
    batch it came from.
    """
    digest = hashlib.sha256()
    for field in SCHEMA:
        name = field.name
        column = table.column(name).combine_chunks() if table.num_rows else pa.array([], field.type)
        digest.update(name.encode())
        digest.update(_column_bytes(column))
    return digest.hexdigest()


def _column_bytes(array: pa.Array) -> bytes:
    """A canonical serialisation of ``array``: its values and where its nulls are."""
    sink = io.BytesIO()
    nulls = array.is_null().to_numpy(zero_copy_only=False)
    sink.write(nulls.tobytes())
    if pa.types.is_integer(array.type):
        sink.write(array.fill_null(0).to_numpy().tobytes())
    else:
        filled = array.fill_null(b"" if pa.types.is_binary(array.type) else "")
        lengths = pc.binary_length(filled).to_numpy()
        sink.write(lengths.tobytes())
        _, offsets, data = filled.buffers()
        if data is not None and len(filled):
            ends = np.frombuffer(offsets, dtype=np.int32)[filled.offset :][: len(filled) + 1]
            sink.write(memoryview(data)[int(ends[0]) : int(ends[-1])])
    return sink.getvalue()


class TierFiles:
    """The directory or object-store prefix holding the tiers' files."""

    def __init__(self, root: str) -> None:
        self.fs, path = fsspec.core.url_to_fs(root)
        self.local = isinstance(self.fs, LocalFileSystem)
        self.root = str(Path(path).resolve()) if self.local else path.rstrip("/")
        self.prefix = "" if self.local else f"{_protocols(self.fs)[0]}://"

    def url(self, relative: str) -> str:
        """The full location of ``relative`` under the root (what the manifest stores)."""
        return f"{self.prefix}{self.root}/{relative}"

    def write(self, relative: str, table: pa.Table) -> Written:
        """Write ``table`` as zstd Parquet at ``relative`` durably, read it back, verify it."""
        return write_at(self.url(relative), table)

    def read(self, url: str) -> pa.Table:
        """The whole file at ``url`` (see :func:`read_at`)."""
        return read_at(url)

    def delete(self, urls: Iterable[str]) -> None:
        """Delete files; one already gone is fine (a retry after a crash)."""
        for url in urls:
            try:
                self.fs.rm_file(fsspec.core.url_to_fs(url)[1])
            except FileNotFoundError:
                continue

    def listing(self) -> dict[str, float]:
        """Every Parquet file under the root (full location -> modification time, epoch s)."""
        if not self.fs.exists(self.root):
            return {}
        found: dict[str, float] = {}
        for path, info in self.fs.find(self.root, detail=True).items():
            if path.endswith((".parquet", ".parquet.tmp")):
                found[f"{self.prefix}{path}"] = _mtime(info)
        return found


def write_at(url: str, table: pa.Table) -> Written:
    """Write ``table`` as zstd Parquet at ``url`` (a path or an fsspec URL) durably, replacing
    any file there at once, then read it back and check its row count and content checksum.

    Rows are stored by person (``user_id``, then ``seq``): each row group then covers a range
    of people, and its statistics let DuckDB skip the others when a person's history is read
    (the most common history query); readers sort by ``seq`` themselves."""
    table = table.sort_by([("user_id", "ascending"), ("seq", "ascending")])
    expected = checksum(table)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=_ROW_GROUP)
    data = buffer.getvalue()
    fs, path = fsspec.core.url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        _write_local(Path(path), data)
    else:
        fs.makedirs(fs._parent(path), exist_ok=True)
        with fs.open(path, "wb") as fh:
            fh.write(data)
    found = read_at(url)
    got = checksum(found)
    if found.num_rows != table.num_rows or got != expected:
        raise StoreError(
            "tiers",
            f"file {url} read back {found.num_rows} rows (checksum {got[:12]}), expected "
            f"{table.num_rows} ({expected[:12]}); it stays out of the manifest",
        )
    return Written(url, table.num_rows, len(data), expected)


def read_at(url: str) -> pa.Table:
    """The whole file at ``url`` as an Arrow table of :data:`SCHEMA`, read from storage."""
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as fh:
        return pq.read_table(fh).select(list(COLUMNS)).cast(SCHEMA)


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def _mtime(info: dict[str, Any]) -> float:
    value = info.get("mtime") or info.get("created") or info.get("LastModified") or 0
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def _write_local(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the final name only ever names a complete, synced
    file: temporary name, fsync, rename, fsync of the directory (the rename itself)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
