"""A Bloom filter of the people (user and anonymous ids) in one tier file, kept in the manifest.

A person's history is the most common history read. Without it, DuckDB opens every file of the
workspace to look; with it, the manifest names the few files that may hold the person (1 %
false positives at 10 bits per id) and only those are opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

_HASHES = 7  # optimal for 10 bits per id: ~0.8 % false positives
_BITS_PER_ID = 10


def people_filter(table: pa.Table) -> bytes:
    """The filter of every user and anonymous id in ``table`` (4-byte size, then the bits)."""
    ids: set[str] = set()
    for column in ("user_id", "anonymous_id"):
        ids.update(v for v in pc.unique(table.column(column)).to_pylist() if v is not None)
    size = max(64, len(ids) * _BITS_PER_ID)
    bits = bytearray((size + 7) // 8)
    for value in ids:
        for pos in _positions(value, size):
            bits[pos >> 3] |= 1 << (pos & 7)
    return size.to_bytes(4, "big") + bytes(bits)


def may_hold(people: bytes | None, values: Iterable[str]) -> bool:
    """Whether a file with filter ``people`` may hold any of ``values`` (no filter: maybe)."""
    if not people:
        return True
    size, bits = int.from_bytes(people[:4], "big"), people[4:]
    return any(all(bits[pos >> 3] >> (pos & 7) & 1 for pos in _positions(v, size)) for v in values)


def _positions(value: str, size: int) -> Sequence[int]:
    digest = hashlib.blake2b(value.encode(), digest_size=16).digest()
    first, step = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big") | 1
    return [(first + i * step) % size for i in range(_HASHES)]
