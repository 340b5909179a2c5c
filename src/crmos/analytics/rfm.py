"""Transactions to the per-customer summary the CLV models take (frequency, recency, age, spend).

Pure numpy/pandas. Purchases on the same day count once (their amounts add up), as in the
CDNOW studies: a customer's repeat purchases ``x`` are their distinct purchase days after the
first; ``t_x`` and ``T`` run from the first purchase to the last one and to the end of the
calibration period, in the chosen time unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from crmos.analytics.clv import Floats, Summary
from crmos.core.errors import ValidationError

DAY_MS = 86_400_000
TIME_UNITS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
"""Days per time unit: day, week, month."""


def unit_days(unit: str) -> float:
    """Days in ``unit``; :class:`ValidationError` names the valid units."""
    try:
        return TIME_UNITS[unit.upper()]
    except KeyError:
        valid = ", ".join(TIME_UNITS)
        raise ValidationError(f"unknown time unit {unit!r}; use one of {valid}") from None


@dataclass(frozen=True, slots=True)
class Customers:
    """The summary of each customer, with their ids in the same order."""

    ids: Sequence[Any]
    summary: Summary


def summarise(
    customer: npt_like, day: npt_like, amount: npt_like, end_day: float, unit: str = "W"
) -> Customers:
    """Summarise purchases (customer id, day number, amount) made up to ``end_day``.

    ``day`` is a day count (e.g. epoch days, fractional parts dropped); purchases after
    ``end_day`` are ignored. Amounts may be all zero when only frequency matters.
    """
    import pandas as pd  # a second to import: loaded by the summaries that use it

    per_unit = unit_days(unit)
    frame = pd.DataFrame(
        {"c": customer, "d": np.floor(np.asarray(day, dtype=np.float64)), "m": amount}
    )
    frame = frame[frame["d"] <= end_day]
    if frame.empty:
        return Customers([], Summary(*(np.zeros(0) for _ in range(4))))
    days = frame.groupby(["c", "d"], sort=True)["m"].sum().reset_index()
    first = days.groupby("c", sort=True).head(1).set_index("c")
    per = days.groupby("c", sort=True).agg(n=("d", "size"), lo=("d", "min"), hi=("d", "max"))
    per["total"] = days.groupby("c", sort=True)["m"].sum()
    x = per["n"].to_numpy(np.float64) - 1.0
    repeat_spend = per["total"].to_numpy(np.float64) - first["m"].to_numpy(np.float64)
    spend = np.divide(repeat_spend, x, out=np.zeros_like(x), where=x > 0)
    lo, hi = per["lo"].to_numpy(np.float64), per["hi"].to_numpy(np.float64)
    summary = Summary(x, (hi - lo) / per_unit, (end_day - lo) / per_unit, spend)
    return Customers(list(per.index), summary)


npt_like = Any  # an array, a list or a pandas column


def epoch_days(values: Sequence[Any]) -> Floats:
    """Day numbers (days since 1970-01-01) of dates given as ``YYYYMMDD``, ISO text, datetimes
    or pandas timestamps."""
    import pandas as pd  # a second to import: loaded by the summaries that use it

    raw = pd.Series(values)
    if raw.astype(str).str.fullmatch(r"\d{8}").all():
        parsed = pd.to_datetime(raw.astype(str), format="%Y%m%d", utc=True)
    else:
        parsed = pd.to_datetime(raw, utc=True, format="mixed")
    if parsed.isna().any():
        bad = raw[parsed.isna()].iloc[0]
        raise ValidationError(f"cannot read {bad!r} as a date; use YYYY-MM-DD or YYYYMMDD")
    since = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(days=1)
    out: Floats = since.to_numpy(np.float64)
    return out


def day_of(moment: datetime | str) -> float:
    """The day number of one date (see :func:`epoch_days`)."""
    return float(epoch_days([moment])[0])
