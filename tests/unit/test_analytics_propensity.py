"""Propensity on the demo world: a time-based split, calibrated likelihoods, reasons in words;
and the CLV command line on a transaction file."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmos.analytics import Events, Profile, Purchases, evaluate, message_activity
from crmos.analytics.evaluate import MIN_GAIN, Split, choose
from crmos.analytics.features import features
from crmos.analytics.propensity import BASELINE
from crmos.cli.main import app
from crmos.demo import generate

END = datetime(2026, 12, 7, 12, tzinfo=UTC)
CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"


def demo_profiles(people: int = 120) -> list[Profile]:
    """The demo world's people (by ground truth) with their events."""
    world = generate(seed=7, people=people, now=END)
    owner = {r["identifier_value"]: r["person_id"] for r in world.ground_truth()}
    acts, traits = defaultdict(list), defaultdict(dict)
    for m in world.events:
        pid = owner.get(m.get("userId")) or owner.get(m.get("anonymousId"))
        if pid is not None:
            acts[pid].append(message_activity(m, Purchases()))
            if m["type"] == "identify":
                traits[pid].update(m.get("traits") or {})
    return [Profile(p, a, traits[p]) for p, a in acts.items()]


@pytest.fixture(scope="module")
def evaluation():  # type: ignore[no-untyped-def]
    profiles = demo_profiles()
    return profiles, evaluate(profiles, int(END.timestamp() * 1000), 7, Events())


def test_purchase_likelihood_beats_recency_frequency_on_the_held_out_week(evaluation) -> None:  # type: ignore[no-untyped-def]
    _, found = evaluation
    assert found.auc["purchase"] >= found.baseline_auc["purchase"] + 0.05, found.as_dict()


def test_renewal_without_renewal_events_is_skipped_with_the_reason(evaluation) -> None:  # type: ignore[no-untyped-def]
    _, found = evaluation
    assert "renewal" not in found.models
    why = found.skipped["renewal"]
    assert why.startswith("no renewal model: too few outcomes (events Renewal Form Submitted")
    assert "0 positive" in why


def test_train_dev_and_held_out_figures_are_apart_and_the_dev_window_alone_picks_the_scorer(
    evaluation,
) -> None:  # type: ignore[no-untyped-def]
    _, found = evaluation
    for target in ("churn", "purchase"):
        splits = found.splits[target]
        assert set(splits) == {"train", "dev", "held_out"}
        assert splits["held_out"].model == found.auc[target]
        assert splits["dev"].model != splits["held_out"].model  # another window, other rows
        beats = splits["dev"].model >= splits["dev"].baseline + MIN_GAIN
        assert found.scorer[target] == ("model" if beats else "baseline")
        assert found.decision[target].startswith("the model " + ("beat" if beats else "did not"))


def test_the_baseline_scores_when_the_model_gains_too_little_on_the_dev_window(evaluation) -> None:  # type: ignore[no-untyped-def]
    profiles, _ = evaluation
    found = evaluate(profiles, int(END.timestamp() * 1000), 7, Events(), min_gain=1.0)
    assert found.scorer == {"churn": "baseline", "purchase": "baseline"}
    assert found.models["churn"].names == BASELINE  # refitted on every window, baseline only
    assert "did not beat the recency/frequency baseline by 1.0 AUC" in found.decision["churn"]
    assert found.as_dict()["splits"]["churn"]["dev"]["auc"] is not None


def test_a_dev_gain_the_held_out_window_does_not_confirm_is_said_in_the_decision() -> None:
    scorer, words = choose(Split(0.93, 0.90), Split(0.917, 0.923))
    assert scorer == "model"
    assert words.endswith("held-out window: model AUC 0.917, baseline 0.923 (not confirmed there)")
    assert choose(Split(0.905, 0.90), Split(0.95, 0.90))[0] == "baseline"  # held-out never picks
    assert choose(None, Split(0.95, 0.90))[0] == "model"


def test_each_prediction_names_its_top_features_with_direction_in_words(evaluation) -> None:  # type: ignore[no-untyped-def]
    profiles, found = evaluation
    model = found.models["purchase"]
    at = int(END.timestamp() * 1000)
    row = features(profiles[0], at, Events())
    p = float(model.predict([row])[0])
    assert 0.0 < p < 1.0
    reasons = model.explain(row)
    assert reasons, "no reason given"
    assert all(abs(r.effect) >= 0.005 for r in reasons)
    assert abs(reasons[0].effect) >= abs(reasons[-1].effect)
    assert reasons[0].words.endswith(f"{reasons[0].effect:+.2f}")


def test_clv_fit_on_a_transaction_file_prints_both_models_as_json() -> None:
    args = [
        "analytics", "clv", "fit", str(CDNOW), "--sep", " ", "--no-header",
        "--customer-column", "1", "--date-column", "2", "--amount-column", "4",
        "--time-unit", "W", "--calibration-end", "1997-09-30", "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.output.strip().splitlines()[-1])
    assert fitted["bgnbd"]["r"] == pytest.approx(0.243, rel=0.01)
    assert fitted["gamma_gamma"]["p"] == pytest.approx(6.25, rel=0.02)


def test_clv_fit_names_the_columns_a_file_has_when_one_is_missing(tmp_path: Path) -> None:
    file = tmp_path / "tx.csv"
    file.write_text("cust,day,amount\n1,2024-01-01,10\n")
    result = CliRunner().invoke(app, ["analytics", "clv", "fit", str(file), "--json"])
    assert result.exit_code != 0
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "no column customer_id, date; the file has cust, day, amount" in said
