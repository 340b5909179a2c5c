"""The identity bench's throughput part runs end to end (a benchmark prints figures; this only
checks that it works and that its figures describe the run)."""

from __future__ import annotations

from crmos.bench.identity import identify_events, throughput


def test_the_throughput_bench_stitches_every_event_and_compares_with_the_bare_insert() -> None:
    figures = throughput(1200)
    assert figures["stitch_events"] == 1200
    assert figures["stitch_events_per_s"] > 0 and figures["stitch_ceiling_events_per_s"] > 0
    ceiling, stitched = figures["stitch_ceiling_events_per_s"], figures["stitch_events_per_s"]
    assert abs(figures["stitch_vs_ceiling"] - stitched / ceiling) < 0.01


def test_the_bench_events_are_made_lazily_in_log_order_and_repeat_people() -> None:
    made = identify_events("ws", 800)
    assert iter(made) is made  # a generator: the bench makes each batch when it needs it
    events = list(made)
    assert [e.seq for e in events] == list(range(1, 801))
    people = {e.user_id for e in events}
    assert 50 <= len(people) <= 100  # n // 8 people, most seen several times
