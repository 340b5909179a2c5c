"""Time-based training and evaluation of the propensity models.

Pure. With window W and the history's end E: the models are trained on snapshots taken at
E-2W, E-3W, E-4W (features before the snapshot, labels in the W after it), evaluated on the
held-out later snapshot E-W (labels in the last W, never seen in training) against a
recency/frequency baseline, then refitted on every snapshot for scoring at E.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crmos.analytics.clv import FitError
from crmos.analytics.features import (
    DAY_MS,
    TARGETS,
    Events,
    Profile,
    features,
    known_before,
    labels,
)
from crmos.analytics.propensity import BASELINE, Model, auc, train, vocabulary

TRAIN_SNAPSHOTS = 3
MIN_HISTORY_DAYS = 14
"""A snapshot needs this much history before it, or its features describe nothing."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Feature rows and labels of the profiles known at one moment."""

    at_ms: int
    ids: list[str]
    rows: list[dict[str, float]]
    labels: list[dict[str, int]]


def snapshot(profiles: Sequence[Profile], at_ms: int, window_ms: int, names: Events) -> Snapshot:
    """Features at ``at_ms`` and labels over the window after it, of profiles known by then."""
    known = [p for p in profiles if known_before(p, at_ms)]
    return Snapshot(
        at_ms,
        [p.id for p in known],
        [features(p, at_ms, names) for p in known],
        [labels(p, at_ms, window_ms, names) for p in known],
    )


@dataclass(slots=True)
class Evaluation:
    """Held-out AUC per target (model and baseline), the final models, and why any is missing."""

    auc: dict[str, float] = field(default_factory=dict)
    baseline_auc: dict[str, float] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready metrics."""
        return {
            "auc": _clean(self.auc),
            "baseline_auc": _clean(self.baseline_auc),
            "skipped": self.skipped,
            "rows": self.rows,
        }


def _clean(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else round(v, 4)) for k, v in values.items()}


def evaluate(
    profiles: Sequence[Profile], end_ms: int, window_days: int, names: Events
) -> Evaluation:
    """Train on earlier snapshots, score the held-out last window, refit on all snapshots."""
    window = window_days * DAY_MS
    first = min((a.ts_ms for p in profiles for a in p.activity), default=end_ms)
    held = snapshot(profiles, end_ms - window, window, names)
    train_at = [end_ms - (k + 2) * window for k in range(TRAIN_SNAPSHOTS)]
    trained = [
        snapshot(profiles, at, window, names)
        for at in train_at
        if at - first >= MIN_HISTORY_DAYS * DAY_MS
    ]
    out = Evaluation()
    rows = [r for s in trained for r in s.rows]
    names_all = vocabulary(rows + held.rows)
    for target in TARGETS:
        y = [lab[target] for s in trained for lab in s.labels]
        out.rows[target] = len(y)
        try:
            model = train(target, rows, y, names_all)
            base = train(target, rows, y, BASELINE)
        except FitError as exc:
            out.skipped[target] = str(exc)
            continue
        y_held = [lab[target] for lab in held.labels]
        out.auc[target] = auc(y_held, model.predict(held.rows))
        out.baseline_auc[target] = auc(y_held, base.predict(held.rows))
        try:  # the scoring model also learns from the held-out window, now that it is judged
            out.models[target] = train(target, rows + held.rows, y + y_held, names_all)
        except FitError:
            out.models[target] = model
    return out
