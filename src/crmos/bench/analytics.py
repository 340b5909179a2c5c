"""``crmos bench analytics``: CLV fit and scoring speed, propensity quality and speed.

- **CLV fit** (``clv_fit_s``): BG/NBD + Gamma-Gamma on 100,000 synthetic customers drawn from
  the models themselves (a year of weekly data). Reference in the same run: the same BG/NBD
  likelihood fitted per customer instead of per distinct (x, t_x, T) summary
  (``clv_fit_ungrouped_s``).
- **CLV scoring** (``clv_score_per_s``): P(alive), expected purchases over a year and the
  discounted CLV (12 monthly steps) with Gamma-Gamma spend, for 1,000,000 profiles (quick:
  250,000). Reference: one bare ``scipy.special.hyp2f1`` pass over the same rows
  (``hyp2f1_per_s``), the function each monthly step evaluates once.
- **Propensity** on the demo world (600 people, 90 days; quick: 240), features from each
  person's events and traits (attributed by the world's ground truth, so identity's errors are
  not measured here): models trained on weekly snapshots before the last week, judged on the
  held-out last week against a recency/frequency logistic baseline. ``propensity_auc`` and
  ``baseline_auc`` are the held-out means over the targets that could be trained (the demo
  world has no renewal events, so renewal is skipped and says so); ``by_target`` lists each
  with its ``train`` (in-sample), ``dev`` (the last training week, predicted from the older
  ones) and ``held_out`` figures apart, and which of model or baseline scores profiles: chosen
  on dev alone (``scored_by``, ``decision``). ``scored_auc``: the held-out mean of the chosen.
  ``train_s`` is the whole training and evaluation; ``explain_p95_ms`` one prediction's reasons.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table
from scipy import optimize, special

from crmos.analytics import (
    Events,
    Profile,
    Purchases,
    Summary,
    discounted_value,
    evaluate,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    message_activity,
    p_alive,
)
from crmos.analytics.clv import BgNbd, bgnbd_log_likelihood
from crmos.analytics.features import features
from crmos.demo import generate

WEEKS = 52.0
END = datetime(2026, 12, 7, 12, tzinfo=UTC)


def synthetic(n: int, seed: int = 1) -> Summary:
    """Customers drawn from a BG/NBD (r=0.25, alpha=4, a=0.8, b=2.5) and Gamma-Gamma world,
    first purchases spread over a year, on whole days."""
    rng = np.random.default_rng(seed)
    T = rng.integers(7, 365, n) / 7.0
    rate = rng.gamma(0.25, 1 / 4.0, n)
    drop = rng.beta(0.8, 2.5, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    for _ in range(60):  # purchases one by one; each may be the last
        t = t + rng.exponential(1.0, n) / np.maximum(rate, 1e-9)
        buys = alive & (t < T)
        x[buys] += 1
        t_x[buys] = t[buys]
        alive &= ~(buys & (rng.random(n) < drop))
    t_x = np.round(t_x * 7) / 7
    spend = np.where(x > 0, rng.gamma(6.0, 1 / rng.gamma(3.7, 1 / 15.0, n)), 0.0)
    return Summary(x, t_x, T, spend)


def clv_figures(fit_n: int, score_n: int) -> dict[str, Any]:
    """Fit and scoring timings on synthetic customers."""
    data = synthetic(fit_n)
    started = time.perf_counter()
    model, spend = fit_bgnbd(data), fit_gamma_gamma(data)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    bare = optimize.minimize(
        lambda p: -bgnbd_log_likelihood(p, data.x, data.t_x, data.T).mean(),
        np.log([1.0, 1.0, 1.0, 1.0]),
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0)] * 4,
    )
    ungrouped_s = time.perf_counter() - started
    many = synthetic(score_n, seed=2)
    started = time.perf_counter()
    _score(model, spend.expected_spend(many.x, many.spend), many)
    score_s = time.perf_counter() - started
    z = many.T / (many.T + 52.0)
    started = time.perf_counter()
    special.hyp2f1(model.r + many.x, model.b + many.x, model.a + model.b + many.x - 1, z)
    hyp_s = time.perf_counter() - started
    return {
        "clv_fit_s": round(fit_s, 3),
        "clv_fit_ungrouped_s": round(ungrouped_s, 3),
        "clv_fit_customers": fit_n,
        "bgnbd": {k: round(v, 4) for k, v in model.as_dict().items()},
        "bgnbd_ungrouped_r": round(float(np.exp(bare.x[0])), 4),
        "clv_score_per_s": round(score_n / score_s),
        "clv_scored": score_n,
        "hyp2f1_per_s": round(score_n / hyp_s),
    }


def _score(model: BgNbd, spend: Any, s: Summary) -> None:
    p_alive(model, s.x, s.t_x, s.T)
    expected_purchases(model, WEEKS, s.x, s.t_x, s.T)
    discounted_value(model, spend, s.x, s.t_x, s.T, horizon=WEEKS, steps=12, rate_per_step=0.008)


def demo_profiles(people: int) -> list[Profile]:
    """The demo world's people with their events and traits (by ground truth)."""
    world = generate(seed=7, people=people, now=END)
    owner = {r["identifier_value"]: r["person_id"] for r in world.ground_truth()}
    acts: dict[str, list[Any]] = defaultdict(list)
    traits: dict[str, dict[str, Any]] = defaultdict(dict)
    for m in world.events:
        pid = owner.get(m.get("userId")) or owner.get(m.get("anonymousId"))
        if pid is not None:
            acts[pid].append(message_activity(m, Purchases()))
            if m["type"] == "identify":
                traits[pid].update(m.get("traits") or {})
    return [Profile(p, a, traits[p]) for p, a in acts.items()]


def propensity_figures(people: int, window_days: int = 7) -> dict[str, Any]:
    """Held-out AUC against the baseline, training time and explanation latency."""
    profiles = demo_profiles(people)
    end = int(END.timestamp() * 1000)
    started = time.perf_counter()
    found = evaluate(profiles, end, window_days, Events())
    train_s = time.perf_counter() - started
    rows = [features(p, end, Events()) for p in profiles]
    took = []
    for model in found.models.values():
        for row in rows:
            t0 = time.perf_counter()
            model.explain(row)
            took.append((time.perf_counter() - t0) * 1000)
    trained = sorted(found.models)
    scored = {
        t: found.auc[t] if found.scorer[t] == "model" else found.baseline_auc[t] for t in trained
    }
    return {
        "propensity_auc": round(statistics.mean(found.auc[t] for t in trained), 4),
        "baseline_auc": round(statistics.mean(found.baseline_auc[t] for t in trained), 4),
        "scored_auc": round(statistics.mean(scored.values()), 4),
        "by_target": {
            t: {
                "auc": round(found.auc[t], 4),
                "baseline_auc": round(found.baseline_auc[t], 4),
                **{name: split.as_dict() for name, split in found.splits[t].items()},
                "scored_by": found.scorer[t],
                "decision": found.decision[t],
            }
            for t in trained
        },
        "skipped": found.skipped,
        "train_s": round(train_s, 3),
        "explain_p95_ms": round(statistics.quantiles(took, n=20)[18], 3),
        "demo_people": people,
        "window_days": window_days,
    }


def run(quick: bool = False, as_json: bool = False) -> None:
    """Measure and print; with ``as_json`` the last line is one JSON object."""
    console = Console(stderr=as_json)
    figures = clv_figures(100_000, 250_000 if quick else 1_000_000)
    figures |= propensity_figures(240 if quick else 600)
    table = Table("figure", "value", title="crmos bench analytics")
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)
    if as_json:
        print(orjson.dumps(figures).decode())  # noqa: T201 - the machine-readable last line
