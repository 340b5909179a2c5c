"""Time-based training and evaluation of the propensity models.

Pure. With window W and the history's end E: the models are trained on snapshots taken at
E-2W, E-3W, E-4W (features before the snapshot, labels in the W after it), evaluated on the
held-out later snapshot E-W (labels in the last W, never seen in training) against a
recency/frequency baseline, then refitted on every snapshot for scoring at E.

Which of the two scores profiles is decided on the **dev** window alone: the latest training
snapshot (E-2W) predicted by model and baseline fitted on the older ones. The model scores only
when it beats the baseline there by ``MIN_GAIN``; the held-out window never chooses anything, it
only reports (and the decision says when it disagrees).
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
MIN_GAIN = 0.01
"""AUC the model must gain over the baseline on the dev window to score profiles: on the demo
world, changes of features or regularisation moved dev AUC by up to 0.005 either way."""


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


@dataclass(frozen=True, slots=True)
class Split:
    """AUC of the model and of the recency/frequency baseline on one split (NaN: one outcome)."""

    model: float
    baseline: float

    def as_dict(self) -> dict[str, float | None]:
        """JSON-ready figures."""
        return _clean({"auc": self.model, "baseline_auc": self.baseline})


@dataclass(slots=True)
class Evaluation:
    """Per target: AUC on the training rows, the dev window and the held-out window (model and
    baseline), which of the two scores profiles and why, the final models, and why any is
    missing. ``auc``/``baseline_auc`` are the held-out figures."""

    auc: dict[str, float] = field(default_factory=dict)
    baseline_auc: dict[str, float] = field(default_factory=dict)
    splits: dict[str, dict[str, Split]] = field(default_factory=dict)
    scorer: dict[str, str] = field(default_factory=dict)
    decision: dict[str, str] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready metrics."""
        return {
            "auc": _clean(self.auc),
            "baseline_auc": _clean(self.baseline_auc),
            "splits": {
                t: {name: split.as_dict() for name, split in by.items()}
                for t, by in self.splits.items()
            },
            "scorer": self.scorer,
            "decision": self.decision,
            "skipped": self.skipped,
            "rows": self.rows,
        }


def _clean(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else round(v, 4)) for k, v in values.items()}


def evaluate(
    profiles: Sequence[Profile],
    end_ms: int,
    window_days: int,
    names: Events,
    min_gain: float = MIN_GAIN,
) -> Evaluation:
    """Train on earlier snapshots, choose model or baseline on the dev window (the latest of
    them, predicted from the older ones; the model must gain ``min_gain`` AUC there), judge
    both on the held-out last window, refit the chosen one on all snapshots."""
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
    names_all = vocabulary([r for s in trained for r in s.rows] + held.rows)
    for target in TARGETS:
        _evaluate_target(out, target, trained, held, names_all, names, min_gain)
    return out


def _evaluate_target(
    out: Evaluation,
    target: str,
    trained: list[Snapshot],
    held: Snapshot,
    names_all: tuple[str, ...],
    names: Events,
    min_gain: float,
) -> None:
    rows, y = _stack(trained, target)
    out.rows[target] = len(y)
    try:
        model = train(target, rows, y, names_all)
        base = train(target, rows, y, BASELINE)
    except FitError as exc:
        out.skipped[target] = _missing(target, str(exc), names)
        return
    y_held = [lab[target] for lab in held.labels]
    out.auc[target] = auc(y_held, model.predict(held.rows))
    out.baseline_auc[target] = auc(y_held, base.predict(held.rows))
    splits = {
        "train": Split(auc(y, model.predict(rows)), auc(y, base.predict(rows))),
        "held_out": Split(out.auc[target], out.baseline_auc[target]),
    }
    dev = _dev(target, trained, names_all)
    if dev is not None:
        splits["dev"] = dev
    out.splits[target] = splits
    out.scorer[target], out.decision[target] = choose(dev, splits["held_out"], min_gain)
    features = names_all if out.scorer[target] == "model" else BASELINE
    fallback = model if out.scorer[target] == "model" else base
    try:  # the scoring model also learns from the held-out window, now that it is judged
        out.models[target] = train(target, rows + held.rows, y + y_held, features)
    except FitError:
        out.models[target] = fallback


def _stack(snapshots: Sequence[Snapshot], target: str) -> tuple[list[dict[str, float]], list[int]]:
    return [r for s in snapshots for r in s.rows], [
        lab[target] for s in snapshots for lab in s.labels
    ]


def _dev(target: str, trained: list[Snapshot], names_all: tuple[str, ...]) -> Split | None:
    """Model and baseline fitted on the older training snapshots, judged on the latest one;
    None without two snapshots or enough examples of each outcome."""
    if len(trained) < 2:
        return None
    dev, older = trained[0], trained[1:]
    rows, y = _stack(older, target)
    y_dev = [lab[target] for lab in dev.labels]
    try:
        model = train(target, rows, y, names_all)
        base = train(target, rows, y, BASELINE)
    except FitError:
        return None
    return Split(auc(y_dev, model.predict(dev.rows)), auc(y_dev, base.predict(dev.rows)))


def choose(dev: Split | None, held: Split, min_gain: float = MIN_GAIN) -> tuple[str, str]:
    """``model`` or ``baseline`` for scoring, decided on the dev window alone (the held-out
    window only reports), and the decision in words."""
    judged = f"held-out window: model AUC {held.model:.3f}, baseline {held.baseline:.3f}"
    if dev is None or math.isnan(dev.model) or math.isnan(dev.baseline):
        return "model", f"no dev window to compare on, so the model scores; {judged}"
    on_dev = f"dev window AUC {dev.model:.3f} vs baseline {dev.baseline:.3f}"
    if dev.model >= dev.baseline + min_gain:
        confirmed = "" if held.model > held.baseline else " (not confirmed there)"
        return "model", f"the model beat the recency/frequency baseline ({on_dev}); " + (
            judged + confirmed
        )
    return "baseline", (
        f"the model did not beat the recency/frequency baseline by {min_gain} AUC ({on_dev}), "
        f"so the baseline scores; {judged}"
    )


def _missing(target: str, why: str, names: Events) -> str:
    """Why a target has no model, in words a console reader follows: which events count."""
    counted = {
        "churn": "windows without activity",
        "renewal": "events " + ", ".join(sorted(names.renewal)),
        "purchase": f"events {names.purchase}",
    }[target]
    return f"no {target} model: too few outcomes ({counted}) in the training windows; {why}"
