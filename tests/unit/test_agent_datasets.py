"""The shipped data sets: the evaluation set is not a paraphrase-copy of the training set."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest

from crmos.agent.datasets.generate import banks, write_all
from crmos.agent.intents import INTENTS, cue_groups, load_examples


def _grams(text: str, n: int = 4) -> set[str]:
    flat = re.sub(r"\{\w+\}|\W+", "", text.lower())
    return {flat[i : i + n] for i in range(len(flat) - n + 1)}


def _train_templates(language: str) -> list[str]:
    base, more, varied = banks(language)
    out = [
        t
        for group in (
            base["train"],
            base["train_core"],
            more["more"],
            more["glossary"],
            varied["varied"],
            varied["chat"],
            varied["industry"],
        )
        for v in group.values()
        for t in v
    ]
    return out


@pytest.mark.parametrize("language", ["en", "zh"])
def test_training_and_evaluation_share_no_message_template_or_slot_value(language: str) -> None:
    base, *_ = banks(language)
    evaluation = [
        t for group in (base["eval"], base["eval_core"]) for v in group.values() for t in v
    ]
    assert evaluation and not set(evaluation) & set(_train_templates(language))
    for slot, values in base["slots_eval"].items():
        assert not set(values) & set(base["slots_train"][slot]), slot


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_evaluation_template_is_a_near_copy_of_a_training_one(language: str) -> None:
    base, *_ = banks(language)
    train = [_grams(t) for t in _train_templates(language)]
    for group in (base["eval"], base["eval_core"]):
        for template in (t for v in group.values() for t in v):
            grams = _grams(template)
            nearest = max(len(grams & g) / len(grams | g) for g in train)
            assert nearest < 0.5, (
                f"{template!r} is too close to a training template ({nearest:.2f})"
            )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_evaluation_message_appears_in_training_and_every_intent_is_covered(
    language: str,
) -> None:
    train = load_examples("train", language)
    evaluation = load_examples("eval", language)
    assert not {e.text for e in evaluation} & {e.text for e in train}
    assert {e.intent for e in evaluation} == set(INTENTS) == {e.intent for e in train}
    assert len(train) >= 800 and len(evaluation) >= 250


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_development_set_is_kept_out_of_training(language: str) -> None:
    dev = load_examples("dev", language)
    assert {e.intent for e in dev} == set(INTENTS) and {e.language for e in dev} == {language}
    assert not {e.text for e in dev} & {e.text for e in load_examples("train", language)}


def test_every_cue_word_occurs_in_the_training_set() -> None:
    train = " ".join(e.text.lower() for lang in ("en", "zh") for e in load_examples("train", lang))
    for group, words in cue_groups().items():
        for word in words:
            hit = (
                word in train if not word.isascii() else re.search(rf"\b{re.escape(word)}\b", train)
            )
            assert hit, f"cue '{word}' ({group}) is not in the training set"


def test_the_shipped_files_are_exactly_what_the_generator_writes(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    for path, _ in write_all(tmp_path):
        shipped = files("crmos.agent") / "data" / "intents" / path.name
        assert path.read_text("utf-8") == shipped.read_text("utf-8"), path.name


def test_contract_labels_point_at_clause_text() -> None:
    contracts = json.loads(
        (files("crmos.agent") / "data" / "contracts" / "contracts.json").read_text("utf-8")
    )
    assert len(contracts) >= 24
    for contract in contracts:
        for label in contract["clauses"]:
            page = contract["pages"][label["page"] - 1]
            assert page[label["start"] : label["end"]].strip(), contract["id"]
