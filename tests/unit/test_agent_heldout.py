"""The independent held-out intent set: separate from training, and what the bench scores."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from crmos.agent.intents import INTENTS, IntentModels, load_examples
from crmos.bench.agent_intents import intent_figures, measure_intents

LANGUAGES = ["en", "zh"]


def _flat(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


def _grams(text: str, n: int = 4) -> frozenset[str]:
    flat = _flat(text)
    return frozenset(flat[i : i + n] for i in range(len(flat) - n + 1)) or frozenset({flat})


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_heldout_set_has_at_least_25_messages_for_every_intent(language: str) -> None:
    heldout = load_examples("heldout", language)
    counts = Counter(e.intent for e in heldout)
    assert set(counts) == set(INTENTS)
    assert min(counts.values()) >= 25, counts
    assert {e.language for e in heldout} == {language}
    assert len({e.text for e in heldout}) == len(heldout)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_heldout_message_is_identical_or_near_identical_to_a_shipped_one(
    language: str,
) -> None:
    shipped = [e.text for split in ("train", "eval") for e in load_examples(split, language)]
    flat_shipped = {_flat(t) for t in shipped}
    shipped_grams = [_grams(t) for t in shipped]
    for example in load_examples("heldout", language):
        assert _flat(example.text) not in flat_shipped, example.text
        grams = _grams(example.text)
        nearest = max(len(grams & g) / len(grams | g) for g in shipped_grams)
        assert nearest < 0.5, f"{example.text!r} is too close to a shipped message ({nearest:.2f})"


def test_the_default_model_never_trains_on_the_heldout_set() -> None:
    training = {e.text for e in IntentModels(None).base_examples()}
    heldout = {e.text for lang in LANGUAGES for e in load_examples("heldout", lang)}
    assert not training & heldout


def test_intent_figures_score_the_predictions_and_name_the_confusions() -> None:
    truth = [e.intent for e in load_examples("heldout", "en")]
    perfect = intent_figures(truth, truth, "en_heldout")
    assert perfect["intent_macro_f1_en_heldout"] == 1.0
    assert perfect["intent_confusions_en_heldout"] == {}
    swapped = ["other" if t == "complaint" else t for t in truth]
    figures = intent_figures(truth, swapped, "en_heldout")
    assert figures["intent_per_class_f1_en_heldout"]["complaint"] == 0.0
    assert figures["intent_confusions_en_heldout"] == {"complaint->other": truth.count("complaint")}
    assert figures["intent_macro_f1_en_heldout"] < 0.95


def test_the_bench_heldout_figures_are_computed_from_the_heldout_files() -> None:
    from sklearn.metrics import f1_score

    figures = measure_intents()
    model = IntentModels(None).get()
    for language in LANGUAGES:
        heldout = load_examples("heldout", language)
        assert figures[f"intent_heldout_examples_{language}"] == len(heldout)
        predicted = [s.intent for s in model.predict([e.text for e in heldout])]
        expected = f1_score([e.intent for e in heldout], predicted, average="macro")
        assert figures[f"intent_macro_f1_{language}_heldout"] == round(float(expected), 4)
        assert set(figures[f"intent_per_class_f1_{language}_heldout"]) == set(INTENTS)
        assert figures[f"intent_eval_examples_{language}"] == len(load_examples("eval", language))
