"""Training on small data: the Dirichlet prior on m, and the prior floor from sure pairs."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from splink.internals import expectation_maximisation as em

from crmos.identity.matching import em as matching_em
from crmos.identity.matching.em import smoothed_m, smoothed_proportions
from crmos.identity.matching.model import ColumnRole, MatchPlan
from crmos.identity.matching.splink import sure_rules


def _counts(name: str, m: list[float], u: list[float]) -> list[dict[str, Any]]:
    return [
        {"comparison_vector_value": i, "output_column_name": name, "m_count": a, "u_count": b}
        for i, (a, b) in enumerate(zip(m, u, strict=True))
    ]


def _m(rows: list[dict[str, Any]]) -> list[float]:
    return [r["m_probability"] for r in rows if r["output_column_name"] == "dob"]


def test_a_level_no_expected_match_reaches_keeps_a_small_positive_m() -> None:
    rows = _counts("dob", [0.0, 1e-320, 30.0], [50.0, 3.0, 1.0])
    m = _m(smoothed_proportions(rows, 1.0))
    assert all(v > 0.005 for v in m)
    assert abs(sum(m) - 1) < 1e-9
    assert m[2] > 0.95


def test_thousands_of_expected_matches_leave_m_as_splink_estimates_it() -> None:
    rows = _counts("dob", [100.0, 400.0, 9500.0], [5e5, 3e4, 2e3])
    m = _m(smoothed_proportions(rows, 1.0))
    for got, want in zip(m, [0.01, 0.04, 0.95], strict=True):
        assert abs(got - want) < 1e-4


def test_the_null_level_and_the_prior_rows_pass_through_untouched() -> None:
    rows = _counts("dob", [2.0, 8.0], [9.0, 1.0])
    rows.append({**rows[0], "comparison_vector_value": -1, "m_count": 50.0})
    lam = {
        "comparison_vector_value": 0,
        "output_column_name": "_probability_two_random_records_match",
        "m_count": 0.02,
        "u_count": 0.98,
    }
    out = smoothed_proportions([*rows, lam], 1.0)
    assert [r["comparison_vector_value"] for r in out if r["output_column_name"] == "dob"] == [0, 1]
    assert _m(out) == [2.5 / 11, 8.5 / 11]
    assert out[-1]["m_probability"] == 0.02


def test_the_prior_applies_inside_a_session_only_and_not_to_other_threads() -> None:
    seen: list[float | None] = []
    with smoothed_m(2.0):
        assert matching_em._strength.get() == 2.0
        other = threading.Thread(target=lambda: seen.append(matching_em._strength.get()))
        other.start()
        other.join()
        with smoothed_m(0.5):
            assert matching_em._strength.get() == 0.5
        assert matching_em._strength.get() == 2.0
        assert em.compute_proportions_for_new_parameters is matching_em._proportions
    assert seen == [None]  # a plain session in another thread gets Splink's own M-step
    assert matching_em._strength.get() is None


def test_splinks_own_m_step_is_back_after_the_last_session_even_one_that_failed() -> None:
    splinks = em.compute_proportions_for_new_parameters
    assert splinks is not matching_em._proportions
    with pytest.raises(RuntimeError, match="EM failed"), smoothed_m(1.0):
        raise RuntimeError("EM failed")
    assert em.compute_proportions_for_new_parameters is splinks


def test_overlapping_sessions_in_two_threads_keep_the_prior_until_both_close() -> None:
    splinks = em.compute_proportions_for_new_parameters
    entered, release = threading.Event(), threading.Event()

    def session() -> None:
        with smoothed_m(1.0):
            entered.set()
            release.wait(timeout=10)

    other = threading.Thread(target=session)
    other.start()
    assert entered.wait(timeout=10)
    with smoothed_m(1.0):
        release.set()
        other.join(timeout=10)
        # The other thread's session closed first; this one still has the prior.
        assert em.compute_proportions_for_new_parameters is matching_em._proportions
    assert em.compute_proportions_for_new_parameters is splinks


def test_sure_pairs_agree_on_the_full_name_and_the_birth_date() -> None:
    roles = (
        ColumnRole("first", "forename", ""),
        ColumnRole("last", "surname", ""),
        ColumnRole("dob", "date", ""),
    )
    (rule,) = sure_rules(MatchPlan(roles, (), ()))
    assert rule.sql() == "l.first = r.first and l.last = r.last and l.dob = r.dob"
    assert sure_rules(MatchPlan(roles[:2], (), ())) == []
