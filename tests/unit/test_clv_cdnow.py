"""BG/NBD and Gamma-Gamma reproduce Fader, Hardie & Lee (2005) on the CDNOW sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmos.analytics import (
    Summary,
    day_of,
    epoch_days,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    summarise,
)
from crmos.analytics.clv import FitError

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cdnow() -> Summary:
    frame = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["master", "id", "date", "n", "usd"])
    days = epoch_days(frame["date"].tolist())
    customers = summarise(frame["id"], days, frame["usd"], day_of("1997-09-30"), "W")
    assert len(customers.ids) == 2357
    return customers.summary


def test_bgnbd_matches_the_papers_cdnow_estimates_within_one_percent(cdnow: Summary) -> None:
    fitted = fit_bgnbd(cdnow)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.01), name


def test_gamma_gamma_matches_the_published_cdnow_estimates_within_two_percent(
    cdnow: Summary,
) -> None:
    assert int((cdnow.x > 0).sum()) == 946  # the paper's repeat buyers
    fitted = fit_gamma_gamma(cdnow)
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.02), name


def test_expected_purchases_and_p_alive_match_the_papers_worked_example(cdnow: Summary) -> None:
    model = fit_bgnbd(cdnow)
    # FHL 2005, section 5: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks.
    one = np.array
    expected = expected_purchases(model, 39.0, one([2.0]), one([30.43]), one([38.86]))
    assert expected[0] == pytest.approx(1.226, rel=0.01)
    alive = p_alive(model, one([0.0, 2.0, 2.0]), one([0.0, 30.43, 5.0]), one([38.86] * 3))
    assert alive[0] == 1.0  # no repeat purchase: never seen to drop out
    assert alive[1] > alive[2]  # a recent buyer is likelier alive than one quiet for 34 weeks


def test_a_fit_without_repeat_buyers_says_why_it_cannot_fit() -> None:
    once = Summary(np.zeros(20), np.zeros(20), np.full(20, 10.0), np.zeros(20))
    with pytest.raises(FitError, match="repeat"):
        fit_bgnbd(once)
