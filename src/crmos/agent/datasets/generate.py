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

from crmos.agent.datasets import more_en, more_zh, templates_en, templates_zh

PER_INTENT = {"train": 100, "eval": 24}
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


def bank(module: ModuleType, split: str, more: ModuleType | None = None) -> Bank:
    """The ``train`` or ``eval`` bank of a template module (plus ``more`` for training)."""
    up = split.upper()
    templates = {k: list(v) for k, v in getattr(module, up).items()}
    for group in ("MORE", "GLOSSARY"):
        for intent, extra in (getattr(more, group, {}) if more else {}).items():
            templates[intent].extend(extra)
    return Bank(
        templates=templates,
        core=getattr(module, f"{up}_CORE"),
        slots=getattr(module, f"SLOTS_{up}"),
        openers=getattr(module, f"OPENERS_{up}"),
        closers=getattr(module, f"CLOSERS_{up}"),
        context=getattr(more, "CONTEXT", {}) if more else {},
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
            parts = [fill(rng.choice(b.openers), b.slots, rng), _vary(body, rng, language)]
            parts.append(fill(rng.choice(b.closers), b.slots, rng))
            text = sep.join(p for p in parts if p)
            if text not in seen:
                seen.add(text)
                texts.append(text)
        out.extend({"text": t, "intent": intent, "language": language} for t in texts)
    return out


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
    sources = (("en", templates_en, more_en), ("zh", templates_zh, more_zh))
    for language, module, more in sources:
        for offset, split in enumerate(("train", "eval")):
            b = bank(module, split, more if split == "train" else None)
            rows = examples(b, language, PER_INTENT[split], SEED + offset)
            path = target / f"{split}_{language}.jsonl"
            lines = (json.dumps(r, ensure_ascii=False) for r in rows)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            written.append((path, len(rows)))
    return written
