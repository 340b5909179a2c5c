"""``crmos bench console`` runs end to end and its figures describe the run."""

from __future__ import annotations

import json

import pytest

from crmos.bench.console import HEAVY_EVENTS, run


def test_the_console_bench_prints_its_figures_beside_references(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(quick=True, as_json=True, size=(400, HEAVY_EVENTS + 4000))
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["profiles"] == 400 and figures["events"] == HEAVY_EVENTS + 4000
    for name in (
        "list_p95_ms",
        "search_p95_ms",
        "profile_p95_ms",
        "timeline_page_p95_ms",
        "ref_select_p95_ms",
    ):
        assert figures[name] > 0, name
    assert figures["search_hit_share"] > 0.9  # the queries are made from indexed people
    assert figures["index_rows"] > 400 * 20
