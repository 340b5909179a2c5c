"""Reading event files for ``crmos ingest``: JSON lines, or CSV with dotted column names."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from crmos.core.errors import ValidationError


def event_lines(path: Path) -> Iterator[bytes]:
    """Each event of ``path`` as one JSON document (blank lines skipped).

    ``.jsonl``/``.ndjson``: one Segment message per line. ``.csv``: one message per row;
    a column ``properties.plan`` becomes ``{"properties": {"plan": ...}}``; empty cells are
    left out; cells of ``properties``, ``traits``, ``context`` columns holding JSON are parsed.
    """
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    yield line
    elif suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                yield orjson.dumps(csv_row_to_message(row))
    else:
        raise ValidationError(f"cannot read '{path.name}': use a .jsonl or .csv file")


def csv_row_to_message(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row as a Segment message."""
    message: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        head, _, tail = column.partition(".")
        if tail:
            message.setdefault(head, {})[tail] = _scalar(cell)
        elif head in ("properties", "traits", "context", "integrations"):
            message[head] = orjson.loads(cell)
        else:
            message[head] = cell
    return message


def _scalar(cell: str) -> Any:
    """Numbers and booleans in CSV cells become JSON numbers and booleans."""
    try:
        value = orjson.loads(cell)
    except orjson.JSONDecodeError:
        return cell
    return value if isinstance(value, int | float | bool) else cell


def count_bytes(path: Path) -> int:
    """The file's size, for the progress bar."""
    return path.stat().st_size
