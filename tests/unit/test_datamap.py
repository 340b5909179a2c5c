"""The erasure contract's helpers: redaction of a person's strings, and log records without
personal data."""

from __future__ import annotations

import json
import logging

from crmos.core.datamap import DataMap, Holding, alias, mentions, redact
from crmos.core.logsafe import WITHHELD, get_logger


def test_redact_replaces_every_spelling_of_a_needle_with_one_stable_alias() -> None:
    text = 'Hans Müller, HANS MÜLLER, {"n": "Hans M\\u00fcller"} and hans müller'
    out = redact(text, ["Hans Müller"])
    assert out.count(alias("Hans Müller")) == 4
    assert not mentions(out, ["Hans Müller"])
    assert json.dumps("Hans Müller")[1:-1] == "Hans M\\u00fcller"


def test_a_longer_needle_is_replaced_before_a_shorter_one_inside_it() -> None:
    out = redact("mail hans.mueller@example.de now", ["hans.mueller", "hans.mueller@example.de"])
    assert out == f"mail {alias('hans.mueller@example.de')} now"


def test_a_data_map_with_holdings_is_personal_and_lists_its_tables() -> None:
    empty = DataMap("triggers")
    holding = DataMap("agent", (Holding("table", "interactions", ("text",)),
                                Holding("cache", "HOME/models/*.pkl")))  # fmt: skip
    assert not empty.personal and holding.personal
    assert holding.tables() == ("interactions",)


def test_a_crmos_logger_withholds_exception_messages_but_keeps_class_code_and_frames() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = get_logger("crmos.test.logsafe")
    log.addHandler(Keep())
    log.propagate = False
    email = "hans.mueller" + "@example.de"  # a value, as code meets it (frames show source only)
    try:
        raise ValueError(f"{email} is not allowed")
    except ValueError as exc:
        log.error("consumer %s skipped an event: %s", "graph", exc)
        log.exception("the stream failed")
    text = "\n".join(logging.Formatter().format(r) for r in records)
    assert "hans.mueller" not in text
    assert "builtins.ValueError" in text and WITHHELD in text and "test_datamap.py" in text
