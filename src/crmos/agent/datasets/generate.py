"""Build the intent training and evaluation sets from the template banks (seeded, reproducible).

Training examples come only from ``TRAIN``/``TRAIN_CORE``/``SLOTS_TRAIN``/``*_TRAIN`` and
evaluation examples only from the ``EVAL`` counterparts, so no evaluation message is a
re-filled training template.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import ModuleType

from crmos.agent.datasets import more_en, more_zh, templates_en, templates_zh, varied_en, varied_zh

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


def bank(
    module: ModuleType,
    split: str,
    more: ModuleType | None = None,
    varied: ModuleType | None = None,
) -> Bank:
    """The ``train`` or ``eval`` bank of a template module (plus ``more``/``varied``: training)."""
    up = split.upper()
    templates = {k: list(v) for k, v in getattr(module, up).items()}
    groups = [getattr(more, g, {}) for g in ("MORE", "GLOSSARY")] if more else []
    extra = [getattr(varied, g, {}) for g in ("VARIED", "CHAT", "INDUSTRY")]
    for group in [*groups, *extra]:
        for intent, extra in group.items():
            templates[intent].extend(extra)
    return Bank(
        templates=templates,
        core=getattr(module, f"{up}_CORE"),
        slots={**getattr(module, f"SLOTS_{up}"), **getattr(varied, "SLOTS", {})},
        openers=getattr(module, f"OPENERS_{up}"),
        closers=getattr(module, f"CLOSERS_{up}"),
        context=getattr(more, "CONTEXT", {}) if more else {},
        register=tuple(getattr(varied, "REGISTER", ())),
        mixed=tuple(getattr(varied, "MIXED", {}).items()),
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
    sources = (("en", templates_en, more_en, varied_en), ("zh", templates_zh, more_zh, varied_zh))
    for language, module, more, varied in sources:
        for offset, split in enumerate(("train", "eval")):
            train = split == "train"
            b = bank(module, split, more if train else None, varied if train else None)
            rows = examples(b, language, PER_INTENT[split], SEED + offset)
            path = target / f"{split}_{language}.jsonl"
            lines = (json.dumps(r, ensure_ascii=False) for r in rows)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            written.append((path, len(rows)))
    return written
