"""Experiment results per variant: who is assigned, conversion, uplift over the control and
Fisher's exact test."""

from __future__ import annotations

import pytest

from crmos.playbooks.experiment import assignments, compare
from crmos.playbooks.spec import ExperimentSpec

SPEC = ExperimentSpec(variants={"nudge": 50, "holdout": 50}, control="holdout")


def _split(n: int, k: int, variant: str) -> tuple[dict[str, str], set[str]]:
    people = {f"{variant}{i}": variant for i in range(n)}
    return people, set(list(people)[:k])


def test_a_large_difference_from_the_control_is_significant_and_its_uplift_is_the_gap() -> None:
    nudged, nudged_won = _split(50, 40, "nudge")
    held, held_won = _split(50, 10, "holdout")
    nudge, holdout = compare(SPEC, nudged | held, nudged_won | held_won)
    assert (nudge.assigned, nudge.converted, nudge.rate) == (50, 40, 0.8)
    assert holdout.control and holdout.uplift is None and holdout.p_value is None
    assert nudge.uplift == pytest.approx(0.6)
    assert nudge.p_value is not None and nudge.p_value < 1e-6 and nudge.significant


def test_equal_conversion_is_no_uplift_and_not_significant() -> None:
    nudged, nudged_won = _split(20, 5, "nudge")
    held, held_won = _split(20, 5, "holdout")
    nudge, _ = compare(SPEC, nudged | held, nudged_won | held_won)
    assert nudge.uplift == 0 and nudge.p_value == pytest.approx(1.0) and not nudge.significant


def test_a_variant_nobody_is_in_has_no_rate_and_no_test() -> None:
    held, held_won = _split(5, 1, "holdout")
    nudge, holdout = compare(SPEC, held, held_won)
    assert nudge.rate is None and nudge.p_value is None and holdout.rate == 0.2


def test_a_profile_counts_once_in_the_variant_of_its_first_firing_that_entered_the_split() -> None:
    rows = [  # id, profile, variant, status, created_ms
        ("f2", "p", "nudge", "started", 20),
        ("f1", "p", "nudge", "not_in_audience", 10),
        ("f3", "p", "nudge", "started", 30),
        ("f4", "q", "holdout", "held_out", 5),
    ]
    keys = ("id", "profile_id", "variant", "status", "created_ms")
    firings = [dict(zip(keys, row, strict=True)) | {"event_id": f"e{row[0][1]}"} for row in rows]
    found = assignments(firings)
    assert (found["p"].at_ms, found["p"].event_id) == (20, "e2")
    assert found["q"].variant == "holdout"
