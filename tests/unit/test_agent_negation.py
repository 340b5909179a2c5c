"""Negation scope in the intent features, and a training that gives the same model every time."""

from __future__ import annotations

import pytest

from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import IntentModel, featurize
from crmos.agent.negation import negated_tokens


@pytest.mark.parametrize(
    "text",
    [
        "Our team decided we won't renew the licence.",
        "Please halt the renewal, thank you.",
        "我们明年不再续约了。",
        "续费就先停掉吧。",
    ],
)
def test_a_negated_renewal_cue_becomes_its_own_feature(text: str) -> None:
    tokens = featurize(text).split()
    assert "cue_renew" in tokens and "cue_not_renew" in tokens


@pytest.mark.parametrize(
    "text", ["No changes needed, just renew the licence.", "没问题，续约吧。", "我们想续约。"]
)
def test_a_negation_in_another_clause_leaves_the_renewal_cue_alone(text: str) -> None:
    tokens = featurize(text).split()
    assert "cue_renew" in tokens and "cue_not_renew" not in tokens


def test_words_in_a_negation_scope_are_marked_until_the_clause_ends() -> None:
    assert negated_tokens("we are not extending the deal, but thanks") == [
        "neg_extend", "neg_the", "neg_deal",
    ]  # fmt: skip
    assert negated_tokens("不再使用了") == ["neg_使用", "neg_用了"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("We have decided we won't be extending the contract after it runs out.", "churn_risk"),
        ("合同到期以后就不再续签了。", "churn_risk"),
        ("We're happy and will extend the contract for another year.", "renewal_interest"),
    ],
)
def test_the_default_model_tells_a_refused_renewal_from_a_wanted_one(
    text: str, intent: str
) -> None:
    assert IntentModels(None).get().predict([text])[0].intent == intent


def test_training_twice_on_the_same_examples_gives_the_same_probabilities() -> None:
    examples = IntentModels(None).base_examples()[::8]
    texts = [e.text for e in examples[:40]]
    first = IntentModel.train(examples, "a").predict(texts)
    second = IntentModel.train(examples, "b").predict(texts)
    assert [(s.intent, s.score, s.alternatives) for s in first] == [
        (s.intent, s.score, s.alternatives) for s in second
    ]


def test_the_fast_probabilities_equal_scikit_learns() -> None:
    import numpy as np

    from crmos.agent.intents import load_examples

    model = IntentModels(None, "tfidf").get()
    assert isinstance(model, IntentModel)
    texts = [e.text for lang in ("en", "zh") for e in load_examples("eval", lang)[::6]]
    expected = model._pipeline.predict_proba([featurize(t) for t in texts])
    assert np.allclose(model.probabilities(texts), expected, atol=1e-9)
    assert list(model.labels) == [str(c) for c in model._pipeline.classes_]
