"""The evidence of a scored pair: for each comparison, the level it fell in and its weight.

Splink writes, per comparison, the level reached (``gamma_NAME``, -1 for a missing value,
then counting down from the most specific level) and its match weight in bits (``mw_NAME``,
plus ``mw_tf_adj_NAME`` where term frequencies adjust it). The level's label comes from the
trained model. Values themselves are not kept: evidence names what agreed, not the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from crmos.identity.matching.frames import rows


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A scored pair of records with the evidence for it."""

    left_id: str
    right_id: str
    probability: float
    match_weight: float
    evidence: dict[str, dict[str, Any]]

    def as_evidence(self) -> dict[str, Any]:
        """JSON-ready: probability, total weight and per-comparison levels and weights."""
        return {
            "probability": round(self.probability, 6),
            "match_weight": round(self.match_weight, 3),
            "comparisons": self.evidence,
        }


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """comparison name -> gamma value -> label, from a Splink settings dict."""
    out: dict[str, dict[int, str]] = {}
    for comparison in model.get("comparisons", []):
        levels = comparison["comparison_levels"]
        labels: dict[int, str] = {}
        scored = [lv for lv in levels if not lv.get("is_null_level")]
        for i, lv in enumerate(scored):
            labels[len(scored) - 1 - i] = str(lv.get("label_for_charts", f"level {i}"))
        labels[-1] = next(
            (str(lv.get("label_for_charts")) for lv in levels if lv.get("is_null_level")),
            "missing",
        )
        out[str(comparison["output_column_name"])] = labels
    return out


def suggestions_of(
    con: duckdb.DuckDBPyConnection, table: str, model: dict[str, Any], id_column: str
) -> list[Suggestion]:
    """Every pair in Splink's prediction ``table`` with its per-comparison evidence."""
    labels = level_labels(model)
    columns = {str(r[0]) for r in rows(con, f"describe {table}")}
    parts = []
    for name in labels:
        tf = f" + coalesce(mw_tf_adj_{name}, 0)" if f"mw_tf_adj_{name}" in columns else ""
        parts.append(f"gamma_{name}, mw_{name}{tf}")
    found = rows(
        con,
        f"select {id_column}_l, {id_column}_r, match_probability, match_weight, "
        f"{', '.join(parts)} from {table}",
    )
    return [_suggestion(row, labels) for row in found]


def _suggestion(row: tuple[object, ...], labels: dict[str, dict[int, str]]) -> Suggestion:
    evidence = {}
    for i, name in enumerate(labels):
        gamma, weight = row[4 + 2 * i], row[5 + 2 * i]
        level = int(gamma) if isinstance(gamma, int | float) else -1
        label = labels[name].get(level, str(level))
        evidence[name] = {"level": label, "gamma": level, "weight": _num(weight, 3)}
    return Suggestion(str(row[0]), str(row[1]), _num(row[2]), _num(row[3]), evidence)


def _num(value: object, digits: int | None = None) -> float:
    number = float(value) if isinstance(value, int | float) else 0.0
    return number if digits is None else round(number, digits)
