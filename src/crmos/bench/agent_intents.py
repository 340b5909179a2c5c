"""Intent and entity figures of ``crmos bench agent``: macro-F1 and per-class F1 on the
training pool, the development set and the blind held-out set, one-message latency, and entity
F1 per type.

- ``train``: the model's own training pool (every ``TRAIN_STEP``-th example; a fit figure).
- ``dev``: the development set the model's settings were chosen on (not blind).
- ``heldout``: the blind set of issue 20 (``data/intents/BLIND.md``), never trained or tuned
  on. ``intent_heldout_macro_f1_{zh,en}`` are the figures the targets are about.

The model scored is the default one (``IntentModels(None)``, encoder when installed); the
TF-IDF fallback is scored on the held-out set too, as the same-run reference.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import INTENTS, Classifier, Example, load_examples, training_examples

LANGUAGES = ("zh", "en")
TOP_CONFUSIONS = 5
TRAIN_STEP = 10  # score every 10th training example: the encoder embeds each one afresh
SETS = (("train", "training pool"), ("dev", "development set"), ("heldout", "blind held-out"))


def intent_figures(truth: Sequence[str], predicted: Sequence[str], key: str) -> dict[str, Any]:
    """Macro-F1, per-class F1, majority baseline and top confusions, keyed ``..._{key}``."""
    from sklearn.metrics import f1_score

    labels = list(INTENTS)
    per_class = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    majority = [max(set(truth), key=list(truth).count)] * len(truth)
    confusions = Counter(f"{t}->{p}" for t, p in zip(truth, predicted, strict=True) if t != p)
    return {
        f"intent_{key}_macro_f1": round(
            float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        f"intent_{key}_per_class_f1": {
            label: round(float(v), 3) for label, v in zip(labels, per_class, strict=True)
        },
        f"baseline_majority_f1_{key}": round(
            float(f1_score(truth, majority, average="macro", zero_division=0)), 4
        ),
        f"intent_{key}_confusions": dict(confusions.most_common(TOP_CONFUSIONS)),
    }


def examples_of(name: str, language: str) -> list[Example]:
    """The examples of one scored set (``train``, ``dev`` or ``heldout``) of ``language``."""
    if name == "train":
        return [e for e in training_examples() if e.language == language][::TRAIN_STEP]
    return load_examples("blind" if name == "heldout" else name, language)


def measure_intents(quick: bool = False) -> dict[str, Any]:
    """Train the default model, then score every set of both languages with it."""
    models = IntentModels(None)
    started = time.perf_counter()
    model = models.get()
    out: dict[str, Any] = {
        "intent_model": f"{type(model).__name__} {model.version}",
        "intent_train_s": round(time.perf_counter() - started, 2),
    }
    for language in LANGUAGES:
        for name, _ in SETS:
            if quick and name == "train":
                continue
            examples = examples_of(name, language)
            scores = model.predict([e.text for e in examples])
            truth = [e.intent for e in examples]
            key = f"{name}_{language}"
            out.update(_renamed(intent_figures(truth, [s.intent for s in scores], key)))
            out[f"intent_{name}_examples_{language}"] = len(examples)
            out[f"intent_{name}_abstained_{language}"] = sum(
                getattr(s, "abstained", False) for s in scores
            )
    out.update(_fallback(models))
    out.update(latency(model, quick))
    return out


def _renamed(figures: dict[str, Any]) -> dict[str, Any]:
    # intent_heldout_zh_macro_f1 -> intent_heldout_macro_f1_zh (the names the issue asks for)
    out = {}
    for key, value in figures.items():
        for language in LANGUAGES:
            for name, _ in SETS:
                old = f"intent_{name}_{language}_"
                if key.startswith(old):
                    key = f"intent_{name}_{key[len(old) :]}_{language}"
        out[key] = value
    return out


def _fallback(models: IntentModels) -> dict[str, Any]:
    if models.kind == "tfidf":
        return {}
    from sklearn.metrics import f1_score

    tfidf = IntentModels(None, kind="tfidf").get()
    out = {}
    for language in LANGUAGES:
        held = examples_of("heldout", language)
        predicted = [s.intent for s in tfidf.predict([e.text for e in held])]
        score = f1_score([e.intent for e in held], predicted, labels=list(INTENTS),
                         average="macro", zero_division=0)  # fmt: skip
        out[f"tfidf_heldout_macro_f1_{language}"] = round(float(score), 4)
    return out


def latency(model: Classifier, quick: bool) -> dict[str, Any]:
    """Milliseconds to classify one message at a time (p50, p95), on held-out messages."""
    texts = [e.text for lang in LANGUAGES for e in examples_of("heldout", lang)]
    texts = texts[:: 4 if quick else 1]
    model.predict(texts[:2])  # warm: the first call loads the encoder
    times = []
    for text in texts:
        started = time.perf_counter()
        model.predict([text])
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "classify_p50_ms": round(times[len(times) // 2], 2),
        "classify_p95_ms": round(times[int(len(times) * 0.95)], 2),
        "classify_messages": len(times),
    }


def intent_lines(f: dict[str, Any]) -> list[str]:
    """Readable per-class F1 and confusions of each set, for the end of the bench's output."""
    lines = [f"intent model: {f['intent_model']}"]
    for language in LANGUAGES:
        for name, title in SETS:
            if f"intent_{name}_macro_f1_{language}" not in f:
                continue
            per_class = ", ".join(
                f"{k} {v}" for k, v in f[f"intent_{name}_per_class_f1_{language}"].items()
            )
            lines.append(
                f"{title} {language}: macro-F1 {f[f'intent_{name}_macro_f1_{language}']} "
                f"({f[f'intent_{name}_examples_{language}']} messages); per class: {per_class}"
            )
            confused = ", ".join(
                f"{k}: {n}" for k, n in f[f"intent_{name}_confusions_{language}"].items()
            )
            lines.append(
                f"top confusions {language} {title} (truth->predicted): {confused or 'none'}; "
                f"abstained -> other: {f[f'intent_{name}_abstained_{language}']}"
            )
    return lines
