"""Entity figures of ``crmos bench agent``: precision, recall and F1 per kind on the blind
entity set (``crmos/agent/data/entities``, README there), written apart from the extractor's
rules and never used to write or tune them.

A predicted mention matches a gold one of the same kind when the normalised values are equal
(money, date, phone, e-mail) or the text as written is (company, product); each gold mention is
matched at most once. Kinds the set does not annotate (person, contract number) are ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files
from typing import Any

from crmos.agent.entities import extract

KINDS = ("money", "date", "phone", "email", "company", "product")
BY_TEXT = ("company", "product")
REGION = {"en": "GB", "zh": "CN"}  # the blind set's local phone numbers


def load(language: str, split: str = "blind") -> list[dict[str, Any]]:
    """The ``blind`` (or ``dev``) entity set of ``language``: text, language, gold entities."""
    path = files("crmos.agent") / "data" / "entities" / f"{split}_{language}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def _key(kind: str, text: str, value: str) -> tuple[str, str]:
    return (kind, text.strip() if kind in BY_TEXT else value)


def measure_entities(split: str = "blind") -> dict[str, Any]:
    """Entity precision, recall and F1 per kind and overall (micro), both languages."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for language in ("zh", "en"):
        for row in load(language, split):
            gold = Counter(_key(g["kind"], g["text"], g["value"]) for g in row["entities"])
            found = Counter(
                _key(e.kind, e.text, e.value)
                for e in extract(row["text"], REGION[language])
                if e.kind in KINDS
            )
            for key in gold | found:
                hit = min(gold[key], found[key])
                tp[key[0]] += hit
                fp[key[0]] += found[key] - hit
                fn[key[0]] += gold[key] - hit
    out: dict[str, Any] = {"entity_f1_per_kind": {}}
    for kind in KINDS:
        out["entity_f1_per_kind"][kind] = _f1(tp[kind], fp[kind], fn[kind])
    t, p, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    out["entity_precision"] = round(t / (t + p), 4) if t + p else 0.0
    out["entity_recall"] = round(t / (t + n), 4) if t + n else 0.0
    out["entity_f1"] = _f1(t, p, n)
    out["entity_gold_mentions"] = t + n
    return out


def _f1(tp: int, fp: int, fn: int) -> float:
    return round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 0.0
