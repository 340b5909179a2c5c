"""The one place crmos extends Splink beyond its public API: EM that stays sane on small data.

Why: Splink's M-step sets each level's m to its share of the expected matches. On a workspace
of a hundred profiles an EM session sees a few dozen matches; a level few of them reach is
pushed towards zero iteration after iteration until it underflows and Splink refuses the
value, or it ends at 1e-300, a veto no other evidence outweighs. Estimating m under a
Dirichlet prior (additive smoothing, as record-linkage EM implementations such as fastLink
and reclin2 bound their estimates, and as Splink's issue 2068 proposes) fixes both: each
comparison gets ``strength`` pseudo-matches spread evenly over its observed levels. On large
files, with thousands of expected matches, the prior changes nothing measurable.

Extension point. Splink 5 offers no hook for the M-step nor a setter for the trained model, so
every use of its internals sits in this module and nowhere else (``splink.py`` calls only
Splink's public API and the functions below):

- :func:`smoothed_m` swaps ``splink.internals.expectation_maximisation.
  compute_proportions_for_new_parameters`` (the M-step's proportions; Splink's EM loop looks it
  up by module name on every iteration) for :func:`_proportions` while at least one block is
  open, and always puts Splink's own back when the last one closes. The strength lives in a
  context variable, so a plain session in another thread meanwhile gets Splink's own M-step;
- :func:`model_snapshot`/:func:`restore_model`, :func:`floor_m`, :func:`prior`/:func:`set_prior`
  read and write the model a ``Linker`` keeps in ``_settings_obj`` (no public accessor);
- :func:`prior_from_sessions` runs ``Linker._populate_probability_two_random_records_match_
  from_trained_values`` when the last EM session failed: Splink's public API runs it only as
  an option of a session, which a failed session never reaches.

``tests/unit/test_splink_contract.py`` checks each of these internals and a small training run
with known parameters, so a Splink upgrade that moves one fails there, loudly, by name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

from splink import Linker
from splink.internals import expectation_maximisation as em
from splink.internals.settings import CoreModelSettings
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
_SPLINK_PROPORTIONS = em.compute_proportions_for_new_parameters
"""Splink's own M-step proportions, put back when the last :func:`smoothed_m` block closes."""
_installed = threading.Lock()
_open_blocks = 0


def _proportions(df_params: SplinkDataFrame) -> list[dict[str, Any]]:
    """Splink's M-step proportions; under :func:`smoothed_m`, with the prior on m."""
    strength = _strength.get()
    if strength is None:
        return _SPLINK_PROPORTIONS(df_params)
    # Splink's public reader of a frame, so the prior works on every backend (DuckDB, Spark).
    return smoothed_proportions(df_params.as_record_list(), strength)


@contextmanager
def smoothed_m(strength: float = PRIOR_MATCHES) -> Iterator[None]:
    """Within the block (this thread or task only), Splink's EM estimates m under the prior.

    The replacement M-step is in place while any block is open, in any thread (counted under
    a lock), and reads the strength from a context variable, so concurrent training sessions,
    smoothed or plain, never see each other's setting. Splink's own is back after the last.
    """
    global _open_blocks
    with _installed:
        if _open_blocks == 0:
            em.compute_proportions_for_new_parameters = _proportions
        _open_blocks += 1
    token = _strength.set(strength)
    try:
        yield
    finally:
        _strength.reset(token)
        with _installed:
            _open_blocks -= 1
            if _open_blocks == 0:
                em.compute_proportions_for_new_parameters = _SPLINK_PROPORTIONS


def model_snapshot(linker: Linker) -> CoreModelSettings:
    """A copy of the linker's comparisons, levels, m, u and prior, for :func:`restore_model`.

    A failed EM session has already taken the comparisons its rule fixes out of the model.
    """
    return deepcopy(linker._settings_obj.core_model_settings)


def restore_model(linker: Linker, saved: CoreModelSettings) -> None:
    """Put back the model :func:`model_snapshot` copied."""
    linker._settings_obj.core_model_settings = saved


def floor_m(linker: Linker, floor: float) -> None:
    """Raise every trained m below ``floor`` to it (null levels and untrained ones aside)."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            m = level._m_probability
            if not level.is_null_level and isinstance(m, float) and m < floor:
                level.m_probability = floor


def prior(linker: Linker) -> float:
    """The probability that two random records match, as the linker's model holds it."""
    value: float = linker._settings_obj._probability_two_random_records_match
    return value


def set_prior(linker: Linker, value: float) -> None:
    """Set the probability that two random records match in the linker's model."""
    linker._settings_obj._probability_two_random_records_match = value


def prior_from_sessions(linker: Linker) -> None:
    """Set the prior from every EM session that trained, as the last session's flag would."""
    linker._populate_probability_two_random_records_match_from_trained_values()  # type: ignore[no-untyped-call]
