"""Propensity models: a calibrated logistic regression per target, with per-prediction reasons.

Why linear and not gradient boosting: a workspace trains on its own profiles (hundreds to tens
of thousands of rows), where a regularised logistic model is as accurate as boosted trees, is
fitted in milliseconds, and gives exact reasons: a prediction's log-odds are the sum of
coefficient times standardised value, so each feature's share is known without sampling.
Calibration is Platt scaling fitted on out-of-fold scores of the training rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crmos.analytics.clv import FitError, Floats
from crmos.analytics.features import in_words

MIN_POSITIVES = 5
TOP_REASONS = 3
BASELINE = ("days_since_active", "events_30d")
"""The recency/frequency baseline's two features."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature's push on a prediction, in probability units, and in words."""

    feature: str
    value: float
    effect: float

    @property
    def words(self) -> str:
        """``3 support complaints in 14 days, +0.21``."""
        return f"{in_words(self.feature, self.value)}, {self.effect:+.2f}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "feature": self.feature,
            "value": round(self.value, 4),
            "effect": round(self.effect, 4),
            "words": self.words,
        }


@dataclass(frozen=True, slots=True)
class Model:
    """A fitted, calibrated propensity model over named features."""

    target: str
    names: tuple[str, ...]
    mean: Floats
    scale: Floats
    coef: Floats
    intercept: float
    platt: tuple[float, float]

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> Floats:
        """Standardised feature rows (features the model does not know are ignored)."""
        raw = np.array([[r.get(n, 0.0) for n in self.names] for r in rows], dtype=np.float64)
        out: Floats = (raw.reshape(len(rows), len(self.names)) - self.mean) / self.scale
        return out

    def predict(self, rows: Sequence[Mapping[str, float]]) -> Floats:
        """Calibrated probabilities of the target for ``rows``."""
        return self._calibrated(self.matrix(rows) @ self.coef + self.intercept)

    def _calibrated(self, score: Floats) -> Floats:
        a, b = self.platt
        out: Floats = 1.0 / (1.0 + np.exp(-(a * score + b)))
        return out

    def explain(self, row: Mapping[str, float], top: int = TOP_REASONS) -> list[Reason]:
        """The ``top`` features that moved this prediction most from the average profile's:
        each effect is the probability minus the one with that feature at its mean."""
        z = self.matrix([row])[0]
        parts = self.coef * z
        score = float(parts.sum() + self.intercept)
        p = float(self._calibrated(np.array([score]))[0])
        without = self._calibrated(score - parts)
        effects = p - without
        order = np.argsort(-np.abs(effects))[:top]
        return [
            Reason(self.names[i], float(row.get(self.names[i], 0.0)), float(effects[i]))
            for i in order
            if abs(effects[i]) >= 0.005
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (what the models table stores)."""
        return {
            "target": self.target,
            "names": list(self.names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "platt": list(self.platt),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        """The model :meth:`as_dict` stored."""
        return cls(
            data["target"],
            tuple(data["names"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            (float(data["platt"][0]), float(data["platt"][1])),
        )


def vocabulary(rows: Sequence[Mapping[str, float]]) -> tuple[str, ...]:
    """Every feature name seen in ``rows``, sorted."""
    return tuple(sorted({n for r in rows for n in r}))


def train(
    target: str,
    rows: Sequence[Mapping[str, float]],
    y: Sequence[int],
    names: Sequence[str] | None = None,
) -> Model:
    """Fit a calibrated model of ``target`` on ``rows``; :class:`FitError` when there are too
    few examples of either outcome."""
    labels = np.asarray(y, dtype=np.int64)
    positives = int(labels.sum())
    if min(positives, len(labels) - positives) < MIN_POSITIVES:
        raise FitError(
            f"{target}: {positives} positive and {len(labels) - positives} negative examples; "
            f"a model needs at least {MIN_POSITIVES} of each"
        )
    columns = tuple(names) if names is not None else vocabulary(rows)
    raw = np.array([[r.get(n, 0.0) for n in columns] for r in rows], dtype=np.float64)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    z = (raw - mean) / scale
    # scikit-learn (with SciPy and pandas) takes seconds to import: only training loads it,
    # not every process that builds the container (each CLI command, each server).
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    splits = min(5, positives, len(labels) - positives)
    folds = StratifiedKFold(n_splits=splits, shuffle=True, random_state=0)
    # One BLAS thread: on matrices this small, more threads only wait on each other (a fit
    # took 0.05-0.13 s with them beside busy processes, 0.013-0.022 s without).
    with threadpool_limits(limits=1):
        held = cross_val_predict(_logistic(), z, labels, cv=folds, method="decision_function")
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(held.reshape(-1, 1), labels)
        fitted = _logistic().fit(z, labels)
    return Model(
        target,
        columns,
        mean,
        scale,
        np.asarray(fitted.coef_[0], dtype=np.float64),
        float(fitted.intercept_[0]),
        (float(platt.coef_[0][0]), float(platt.intercept_[0])),
    )


def _logistic() -> Any:
    """L2-regularised: a few hundred rows over some dozens of features would overfit."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.3, max_iter=2000)


def auc(y: Sequence[int], p: Sequence[float] | Floats) -> float:
    """Area under the ROC curve; NaN when only one outcome occurs."""
    labels = np.asarray(y)
    if len(set(labels.tolist())) < 2:
        return math.nan
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, p))
