"""CLI tables keep every id whole, even piped into an 80-column pipe, and print dates."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console
from rich.table import Table

from crmos.cli import common

IDS = ["fir_01M982KQ3EQ1QMZMXQC22QSNA7", "prf_01M982JXVA2JAXHQJHPNSXTFKF", "run_01M982KQ7SKAQWEX81"]


def _printed(monkeypatch: pytest.MonkeyPatch, table: Table, ids: tuple[str, ...]) -> str:
    piped = Console(file=StringIO(), width=80)  # what Rich assumes when stdout is not a terminal
    monkeypatch.setattr(common, "console", piped)
    common.print_table(table, ids=ids)
    assert piped.width == 80  # the console is left as it was
    text: str = piped.file.getvalue()  # type: ignore[attr-defined]
    return text


def test_three_id_columns_print_every_id_whole_in_an_80_column_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = Table("firing", "playbook", "profile", "status", "run", "at")
    table.add_row(IDS[0], "renewal-risk", IDS[1], "started", IDS[2], "2026-12-07 10:00 UTC")
    text = _printed(monkeypatch, table, ("firing", "profile", "run"))
    for value in IDS:
        assert value in text, text
    assert "…" not in text


def test_other_columns_wrap_instead_of_being_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    table = Table("id", "reason")
    long = "the credit check refused the amount because the customer has no credit left " * 2
    table.add_row(IDS[0], long)
    text = _printed(monkeypatch, table, ("id",))
    assert IDS[0] in text and "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80  # it fitted, so it wrapped
    assert "credit left" in " ".join(text.split())


def test_a_stored_time_prints_as_a_utc_date() -> None:
    assert common.when(1796641224752) == "2026-12-07 11:00 UTC"
    assert common.when(None) == "-"
