"""Intent figures of ``crmos bench agent``: macro-F1, per-class F1 and confusions per data set.

Two labelled sets per language are scored with the same model: the shipped evaluation set
(``eval``, generated from template banks by the author of the training data) and the
independent held-out set (``heldout``, written separately and never used for training or
tuning; see ``crmos/agent/data/intents/HELDOUT.md``). Held-out figures carry a ``_heldout``
suffix.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from crmos.agent.intents import INTENTS, MIN_CONFIDENCE, IntentModels, load_examples

LANGUAGES = ("zh", "en")
# (split, suffix of its figures, name of its example count)
SPLITS = (("eval", "", "eval"), ("heldout", "_heldout", "heldout"))
TOP_CONFUSIONS = 5


def intent_figures(truth: Sequence[str], predicted: Sequence[str], key: str) -> dict[str, Any]:
    """Macro-F1, per-class F1, majority baseline and top confusions, keyed ``..._{key}``."""
    from sklearn.metrics import f1_score

    labels = list(INTENTS)
    per_class = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    majority = [max(set(truth), key=truth.count)] * len(truth)
    confusions = Counter(f"{t}->{p}" for t, p in zip(truth, predicted, strict=True) if t != p)
    return {
        f"intent_macro_f1_{key}": round(
            float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        f"intent_per_class_f1_{key}": {
            label: round(float(v), 3) for label, v in zip(labels, per_class, strict=True)
        },
        f"baseline_majority_f1_{key}": round(
            float(f1_score(truth, majority, average="macro", zero_division=0)), 4
        ),
        f"intent_confusions_{key}": dict(confusions.most_common(TOP_CONFUSIONS)),
    }


def measure_intents() -> dict[str, Any]:
    """Train the default model, then score both sets of both languages with it."""
    started = time.perf_counter()
    model = IntentModels(None).get()
    out: dict[str, Any] = {"intent_train_s": round(time.perf_counter() - started, 2)}
    for language in LANGUAGES:
        for split, suffix, count_name in SPLITS:
            examples = load_examples(split, language)
            scores = model.predict([e.text for e in examples])
            truth = [e.intent for e in examples]
            out.update(intent_figures(truth, [s.intent for s in scores], language + suffix))
            out[f"intent_{count_name}_examples_{language}"] = len(examples)
            # predictions turned into ``other`` because no intent reached MIN_CONFIDENCE
            out[f"intent_low_confidence_{language}{suffix}"] = sum(
                s.score < MIN_CONFIDENCE for s in scores
            )
    return out


def intent_lines(f: dict[str, Any]) -> list[str]:
    """Readable per-class F1 and confusions of each set, for the end of the bench's output."""
    lines = []
    for language in LANGUAGES:
        for _, suffix, _ in SPLITS:
            key = language + suffix
            name = "held-out" if suffix else "eval"
            per_class = ", ".join(f"{k} {v}" for k, v in f[f"intent_per_class_f1_{key}"].items())
            lines.append(f"per-class F1 {language} {name}: {per_class}")
            confused = ", ".join(f"{k}: {n}" for k, n in f[f"intent_confusions_{key}"].items())
            lines.append(
                f"top confusions {language} {name} (truth->predicted): {confused or 'none'}; "
                f"below confidence {MIN_CONFIDENCE} -> other: "
                f"{f[f'intent_low_confidence_{key}']}"
            )
    return lines
