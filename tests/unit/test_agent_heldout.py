"""The blind held-out intent set of issue 20: apart from training, and what the bench scores."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import INTENTS, load_examples, training_examples
from crmos.bench.agent_intents import examples_of, intent_figures, measure_intents

LANGUAGES = ["en", "zh"]


def _flat(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


def _grams(text: str, n: int = 4) -> frozenset[str]:
    flat = _flat(text)
    return frozenset(flat[i : i + n] for i in range(len(flat) - n + 1)) or frozenset({flat})


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_blind_set_has_300_messages_with_every_intent_evenly(language: str) -> None:
    blind = load_examples("blind", language)
    counts = Counter(e.intent for e in blind)
    assert len(blind) >= 300
    assert set(counts) == set(INTENTS)
    assert set(counts.values()) == {28}, counts
    assert {e.language for e in blind} == {language}
    assert len({e.text for e in blind}) == len(blind)


# Generic phrasings both authors wrote independently ("ok 👍", "Got it, thanks.") that were
# found after the blind set had been scored (BLIND.md): it is not reworded after scoring.
KNOWN_NEAR_DUPLICATES = {"en": 7, "zh": 4}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_more_blind_messages_are_near_identical_to_a_training_or_dev_one(
    language: str,
) -> None:
    shipped = [e.text for e in training_examples() if e.language == language]
    shipped += [e.text for e in load_examples("dev", language)]
    shipped_grams = [_grams(t) for t in shipped]
    close = []
    for example in load_examples("blind", language):
        grams = _grams(example.text)
        nearest = max(len(grams & g) / len(grams | g) for g in shipped_grams)
        if nearest >= 0.5:
            close.append(example.text)
    assert len(close) <= KNOWN_NEAR_DUPLICATES[language], close


def test_the_models_never_train_on_the_blind_or_the_development_set() -> None:
    training = {e.text for e in IntentModels(None).base_examples()}
    for split in ("blind", "dev"):
        kept_apart = {e.text for lang in LANGUAGES for e in load_examples(split, lang)}
        assert not training & kept_apart, split


def test_intent_figures_score_the_predictions_and_name_the_confusions() -> None:
    truth = [e.intent for e in load_examples("blind", "en")]
    perfect = intent_figures(truth, truth, "heldout_en")
    assert perfect["intent_heldout_en_macro_f1"] == 1.0
    assert perfect["intent_heldout_en_confusions"] == {}
    swapped = ["other" if t == "complaint" else t for t in truth]
    figures = intent_figures(truth, swapped, "heldout_en")
    assert figures["intent_heldout_en_per_class_f1"]["complaint"] == 0.0
    assert figures["intent_heldout_en_confusions"] == {"complaint->other": truth.count("complaint")}
    assert figures["intent_heldout_en_macro_f1"] < 0.95


def test_the_bench_heldout_figures_are_computed_from_the_blind_files() -> None:
    from sklearn.metrics import f1_score

    figures = measure_intents(quick=True)
    model = IntentModels(None).get()
    for language in LANGUAGES:
        blind = load_examples("blind", language)
        assert examples_of("heldout", language) == blind
        assert figures[f"intent_heldout_examples_{language}"] == len(blind)
        predicted = [s.intent for s in model.predict([e.text for e in blind])]
        expected = f1_score([e.intent for e in blind], predicted, average="macro")
        assert figures[f"intent_heldout_macro_f1_{language}"] == round(float(expected), 4)
        assert set(figures[f"intent_heldout_per_class_f1_{language}"]) == set(INTENTS)
        assert figures[f"intent_dev_examples_{language}"] == len(load_examples("dev", language))
    assert 0 < figures["classify_p50_ms"] <= figures["classify_p95_ms"]
