"""Window patterns evaluated incrementally per profile (pure: no store)."""

from __future__ import annotations

from typing import Any

import pytest

from crmos.triggers import Condition, Evaluator, EventView, Trigger, parse_pattern

DAY = 86_400_000
RENEWAL = {
    "all": [
        {
            "count": {
                "type": "page",
                "where": 'event.properties.path == "/renewal/compare"',
                "at_least": 3,
                "within": "3d",
            }
        },
        {"absent": {"event": "Renewal Form Submitted", "within": "3d"}},
    ]
}


def _trigger(raw: dict[str, Any], condition: str | None = None) -> Trigger:
    pattern, problems = parse_pattern(raw, "trigger.pattern")
    assert not problems and pattern is not None
    return Trigger("pb", "v1", pattern, Condition.compile(condition) if condition else None)


def _feed(ev: Evaluator, profile: str, name: str, kind: str, ts: int, **props: Any) -> list[str]:
    event = EventView(f"e{ts}", name, kind, ts)
    activation = {"event": {"name": name, "type": kind, "properties": props}}
    return [f.event_id for f in ev.observe(profile, event, activation)]


def _view(ev: Evaluator, profile: str, ts: int) -> list[str]:
    return _feed(ev, profile, "Renewal Compare", "page", ts, path="/renewal/compare")


def test_renewal_risk_fires_on_the_third_view_within_three_days() -> None:
    ev = Evaluator([_trigger(RENEWAL)])
    assert _view(ev, "p1", 0) == []
    assert _view(ev, "p1", DAY) == []
    assert _view(ev, "p1", 2 * DAY) == [f"e{2 * DAY}"]
    assert _view(ev, "p1", 2 * DAY + 1) == []  # the firing consumed its views


def test_renewal_risk_does_not_fire_when_views_are_spread_over_more_than_three_days() -> None:
    ev = Evaluator([_trigger(RENEWAL)])
    for ts in (0, 2 * DAY, 3 * DAY + 1):
        assert _view(ev, "p1", ts) == []


def test_renewal_risk_does_not_fire_for_a_buyer_who_submitted_the_form() -> None:
    ev = Evaluator([_trigger(RENEWAL)])
    _view(ev, "p1", 0)
    _feed(ev, "p1", "Renewal Form Submitted", "track", DAY // 2)
    _view(ev, "p1", DAY)
    assert _view(ev, "p1", 2 * DAY) == []
    assert _view(ev, "p2", 0) + _view(ev, "p2", 1) + _view(ev, "p2", 2) == ["e2"]


def test_sequence_fires_only_for_steps_in_order_within_the_window() -> None:
    raw = {"sequence": {"steps": [{"event": "A"}, {"event": "B"}], "within": "1h"}}
    ev = Evaluator([_trigger(raw)])
    assert _feed(ev, "p", "B", "track", 0) == []
    assert _feed(ev, "p", "A", "track", 10) == []
    assert _feed(ev, "p", "B", "track", 20) == ["e20"]
    _feed(ev, "p", "A", "track", 100)
    assert _feed(ev, "p", "B", "track", 100 + 3_600_001) == []


def test_any_of_fires_on_either_part_and_condition_is_checked_at_completion() -> None:
    raw = {"any": [{"event": {"event": "A"}}, {"count": {"event": "B", "at_least": 2}}]}
    ev = Evaluator([_trigger(raw, 'event.properties.tier == "gold"')])
    assert _feed(ev, "p", "A", "track", 0, tier="silver") == []
    assert _feed(ev, "p", "A", "track", 1, tier="gold") == ["e1"]


def test_absence_after_a_pattern_sets_a_timer_that_fires_when_the_window_closes() -> None:
    raw = {"absent": {"event": "Paid", "within": "1d", "after": {"event": {"event": "Invoiced"}}}}
    ev = Evaluator([_trigger(raw)])
    _feed(ev, "p", "Invoiced", "track", 0)
    assert ev.timers[("pb", "p")] == DAY
    assert ev.fire_timer("pb", "p", DAY - 1) is None
    firing = ev.fire_timer("pb", "p", DAY)
    assert firing is not None and firing.event_ids == ("e0",)
    _feed(ev, "q", "Invoiced", "track", 0)
    _feed(ev, "q", "Paid", "track", 5)
    assert ev.timers[("pb", "q")] is None and ev.fire_timer("pb", "q", DAY) is None


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"cout": {"event": "A"}}, "trigger.pattern.cout"),
        ({"count": {"event": "A", "within": "3 days"}}, "trigger.pattern.count.within"),
        ({"count": {"event": "A", "where": "event.x =="}}, "trigger.pattern.count.where"),
        ({"all": [{"absent": {"event": "A"}}]}, "trigger.pattern.all[0].absent.within"),
        ({"count": {"event": "A", "at_leest": 2}}, "trigger.pattern.count.at_leest"),
    ],
)
def test_bad_patterns_are_refused_with_the_path_of_the_problem(
    raw: dict[str, Any], path: str
) -> None:
    pattern, problems = parse_pattern(raw, "trigger.pattern")
    assert pattern is None
    assert path in [p.path for p in problems]


def test_an_unknown_key_gets_a_did_you_mean() -> None:
    _, problems = parse_pattern({"count": {"event": "A", "at_leest": 2}}, "t")
    assert "did you mean 'at_least'?" in problems[0].message
