"""Expectation maximisation that stays sane on a few hundred records: a Dirichlet prior on m.

Splink's M-step sets each level's m to its share of the expected matches. On a workspace of
a hundred profiles an EM session sees a few dozen matches; a level few of them reach is
pushed towards zero iteration after iteration until it underflows and Splink refuses the
value, or it ends at 1e-300, a veto no other evidence outweighs. Estimating m under a
Dirichlet prior (additive smoothing, as record-linkage EM implementations such as fastLink
and reclin2 bound their estimates, and as Splink's issue 2068 proposes) fixes both: each
comparison gets ``strength`` pseudo-matches spread evenly over its observed levels. On large
files, with thousands of expected matches, the prior changes nothing measurable.

Splink has no hook for this, so :func:`smoothed_m` replaces its M-step proportions with one
that applies the prior inside the block and is Splink's own everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from splink.internals import expectation_maximisation as em
from splink.internals.splink_dataframe import SplinkDataFrame

PRIOR_MATCHES = 1.0
"""Pseudo-matches each comparison's m gets, spread evenly over its observed levels."""

_LAMBDA = "_probability_two_random_records_match"


def smoothed_proportions(records: list[dict[str, Any]], strength: float) -> list[dict[str, Any]]:
    """m and u per level from Splink's expected counts, m with ``strength`` pseudo-matches.

    ``records`` are the rows of Splink's ``__splink__m_u_counts`` (``comparison_vector_value``,
    ``output_column_name``, ``m_count``, ``u_count``); the result has the rows Splink's
    ``compute_proportions_for_new_parameters`` returns.
    """
    out: list[dict[str, Any]] = []
    totals: dict[str, tuple[float, float, int]] = {}
    levels = [r for r in records if r["output_column_name"] != _LAMBDA]
    for r in levels:
        if r["comparison_vector_value"] == -1:
            continue
        m, u, n = totals.get(r["output_column_name"], (0.0, 0.0, 0))
        totals[r["output_column_name"]] = (m + r["m_count"], u + r["u_count"], n + 1)
    for r in levels:
        name = r["output_column_name"]
        if r["comparison_vector_value"] == -1 or name not in totals:
            continue
        m_total, u_total, n = totals[name]
        m = (r["m_count"] + strength / n) / (m_total + strength)
        out.append(_row(r, m, r["u_count"] / u_total if u_total > 0 else None))
    out += [
        _row(r, r["m_count"], r["u_count"]) for r in records if r["output_column_name"] == _LAMBDA
    ]
    return out


def _row(r: dict[str, Any], m: float | None, u: float | None) -> dict[str, Any]:
    return {
        "comparison_vector_value": r["comparison_vector_value"],
        "output_column_name": r["output_column_name"],
        "m_probability": m,
        "u_probability": u,
    }


_strength: ContextVar[float | None] = ContextVar("crmos_splink_m_prior", default=None)
_splink_proportions = em.compute_proportions_for_new_parameters


def _proportions(df_params: SplinkDataFrame) -> list[dict[str, Any]]:
    """Splink's M-step proportions; under :func:`smoothed_m`, with the prior on m."""
    strength = _strength.get()
    if strength is None:
        return _splink_proportions(df_params)
    relation = df_params.db_api.duckdb_con.query(f"select * from {df_params.physical_name}")
    names = [d[0] for d in relation.description]
    rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    return smoothed_proportions(rows, strength)


@contextmanager
def smoothed_m(strength: float = PRIOR_MATCHES) -> Iterator[None]:
    """Within the block (this thread or task only), Splink's EM estimates m under the prior.

    The replacement M-step is installed once and reads the strength from a context variable,
    so concurrent training sessions, smoothed or plain, never see each other's setting.
    """
    em.compute_proportions_for_new_parameters = _proportions
    token = _strength.set(strength)
    try:
        yield
    finally:
        _strength.reset(token)
