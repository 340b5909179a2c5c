"""Build the intent training and evaluation sets from the phrase banks (seeded, reproducible).

The banks are package data, ``banks/{templates,more,varied}_{en,zh}.yaml`` beside this module.
Training examples come only from ``train``/``train_core``/``slots_train``/``*_train`` (and the
``more`` and ``varied`` banks) and evaluation examples only from the ``eval`` counterparts, so
no evaluation message is a re-filled training template.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

PER_INTENT = {"train": 200, "eval": 24}
REGISTER_SHARE = 0.2  # training messages framed as a call note, chat line, reply ...
TYPO_SHARE = 0.08  # English training messages with one typo
MIXED_SHARE = 0.15  # Chinese training messages with English business words (续约 -> renewal)
SEED = 20260501
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Bank:
    """One split's templates, hand-written messages, slot values and framing."""

    templates: dict[str, list[str]]
    core: dict[str, list[str]]
    slots: dict[str, list[str]]
    openers: list[str]
    closers: list[str]
    context: dict[str, list[str]]
    register: tuple[str, ...] = ()
    mixed: tuple[tuple[str, str], ...] = ()


def phrases(name: str) -> dict[str, Any]:
    """The groups of one phrase bank, ``banks/NAME.yaml`` (``templates_en``, ``varied_zh`` ...)."""
    text = (files("crmos.agent.datasets") / "banks" / f"{name}.yaml").read_text("utf-8")
    groups: dict[str, Any] = yaml.safe_load(text)
    return groups


Banks = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def banks(language: str) -> Banks:
    """A language's ``templates``, ``more`` and ``varied`` phrase banks."""
    base, more, varied = (phrases(f"{kind}_{language}") for kind in ("templates", "more", "varied"))
    return base, more, varied


def bank(
    base: dict[str, Any],
    split: str,
    more: dict[str, Any] | None = None,
    varied: dict[str, Any] | None = None,
) -> Bank:
    """The ``train`` or ``eval`` bank of a templates bank (plus ``more``/``varied``: training)."""
    more, varied = more or {}, varied or {}
    templates = {k: list(v) for k, v in base[split].items()}
    groups = [more.get(g, {}) for g in ("more", "glossary")]
    extra = [varied.get(g, {}) for g in ("varied", "chat", "industry")]
    for group in [*groups, *extra]:
        for intent, added in group.items():
            templates[intent].extend(added)
    return Bank(
        templates=templates,
        core=base[f"{split}_core"],
        slots={**base[f"slots_{split}"], **varied.get("slots", {})},
        openers=base[f"openers_{split}"],
        closers=base[f"closers_{split}"],
        context=more.get("context", {}),
        register=tuple(varied.get("register", ())),
        mixed=tuple(varied.get("mixed", {}).items()),
    )


def fill(template: str, slots: dict[str, list[str]], rng: random.Random) -> str:
    """``template`` with each ``{slot}`` replaced by a random value of that slot."""
    return _SLOT.sub(lambda m: rng.choice(slots[m.group(1)]), template)


def examples(b: Bank, language: str, per_intent: int, seed: int) -> list[dict[str, str]]:
    """``per_intent`` distinct messages per intent: the hand-written core, then templates."""
    rng = random.Random(seed)
    sep = "" if language == "zh" else " "
    out: list[dict[str, str]] = []
    for intent, templates in b.templates.items():
        seen: set[str] = set()
        texts = list(b.core.get(intent, []))
        attempts = 0
        while len(texts) < per_intent and attempts < per_intent * 50:
            attempts += 1
            body = fill(templates[attempts % len(templates)], b.slots, rng)
            if b.context.get(intent) and rng.random() < 0.35:
                body = fill(rng.choice(b.context[intent]), b.slots, rng) + sep + body
            opener = fill(rng.choice(b.openers), b.slots, rng)  # drawn first: keeps eval stable
            body = _vary(body, rng, language)
            parts = [opener, body]
            parts.append(fill(rng.choice(b.closers), b.slots, rng))
            text = _frame(b, sep.join(p for p in parts if p), body, rng, language)
            if text not in seen:
                seen.add(text)
                texts.append(text)
        out.extend({"text": t, "intent": intent, "language": language} for t in texts)
    return out


def _frame(b: Bank, text: str, body: str, rng: random.Random, language: str) -> str:
    """A share of training messages in another register (the body alone, without greeting
    and sign-off), English ones with a typo, Chinese ones with English business words.

    Banks without registers (evaluation) draw nothing here, so their messages do not change.
    """
    if not b.register:
        return text
    if rng.random() < REGISTER_SHARE:
        text = fill(rng.choice(b.register), {**b.slots, "body": [body]}, rng)
    if language == "en" and rng.random() < TYPO_SHARE:
        text = _typo(text, rng)
    if b.mixed and rng.random() < MIXED_SHARE:
        for chinese, english in b.mixed:
            text = text.replace(chinese, f" {english} ")
        text = re.sub(r" {2,}", " ", text).strip()
    return text


def _typo(text: str, rng: random.Random) -> str:
    """Swap two adjacent letters of one longer word (``renewal`` -> ``renweal``)."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _vary(text: str, rng: random.Random, language: str) -> str:
    """Light, realistic noise: lower case or a dropped final punctuation mark."""
    roll = rng.random()
    if language == "en" and roll < 0.15:
        return text.lower()
    if roll > 0.85 and text and text[-1] in string.punctuation + "。！？":
        return text[:-1]
    return text


def write_all(root: Path | None = None) -> list[tuple[Path, int]]:
    """Write ``{train,eval}_{en,zh}.jsonl`` under the package data folder."""
    target = root or Path(str(files("crmos.agent") / "data" / "intents"))
    target.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, int]] = []
    for language in ("en", "zh"):
        base, more, varied = banks(language)
        for offset, split in enumerate(("train", "eval")):
            train = split == "train"
            b = bank(base, split, more if train else None, varied if train else None)
            rows = examples(b, language, PER_INTENT[split], SEED + offset)
            path = target / f"{split}_{language}.jsonl"
            lines = (json.dumps(r, ensure_ascii=False) for r in rows)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            written.append((path, len(rows)))
    return written
