"""Learning from the approval inbox: decided recommendations become labelled examples, and a
workspace model that includes them replaces the current one only if it is no worse on the
blind held-out sets (an evaluation gate, recorded as a Decision).

- An **approval** confirms the intent the recommendation came from: (message, intent).
- A **correction** is a rejection whose note names the right intent (``intent: complaint``,
  ``意图: complaint``, or just the label): (message, named intent).
- A **rejection** without a correction says only "not this intent". It trains nothing (the
  right label is unknown), but the gate reports how many of them the candidate still gets
  wrong in the same way.

The examples are stored as the workspace's own examples (``agent_intents``), which the
workspace model already trains on, so an accepted retrain is used by the next message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from crmos.agent import repo
from crmos.agent.encoder import VectorCache
from crmos.agent.intent_encoder import EncoderIntentModel
from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import INTENTS, Classifier, Example, IntentScore, load_examples
from crmos.store import Decision, record_decision
from crmos.store.tables_agent import interactions, recommendations

RULE = "agent.intent_model.retrain"
VERSION = "1"
GATE_SPLIT = "blind"  # the issue-20 held-out sets; only scored, never trained or tuned on
_SET_VECTORS = VectorCache()  # vectors of the shipped held-out texts only
_CORRECTION = re.compile(r"(?:intent|意图)\s*[:：=]\s*([a-z_]+)|^\s*([a-z_]+)\s*$", re.I)


@dataclass(frozen=True, slots=True)
class InboxLabels:
    """What the decided recommendations of a workspace say about their messages."""

    examples: tuple[Example, ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()  # (message, intent it is not)
    approvals: int = 0
    corrections: int = 0


@dataclass(frozen=True, slots=True)
class GateResult:
    """The gate's verdict and the figures it was made on."""

    accepted: bool
    current: dict[str, float]
    candidate: dict[str, float]
    new_examples: int
    labels: InboxLabels
    decision_id: str = ""
    rejected_still_wrong: int = 0
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "accepted": self.accepted,
            "decision_id": self.decision_id,
            "current_macro_f1": self.current,
            "candidate_macro_f1": self.candidate,
            "new_examples": self.new_examples,
            "approvals": self.labels.approvals,
            "corrections": self.labels.corrections,
            "rejections_without_correction": len(self.labels.rejected),
            "rejected_still_wrong": self.rejected_still_wrong,
            "notes": list(self.notes),
        }


def correction(note: str | None) -> str | None:
    """The intent a rejection note names, if it names a known one."""
    if not note:
        return None
    for line in note.splitlines():
        m = _CORRECTION.search(line.strip())
        name = (m.group(1) or m.group(2)).lower() if m else None
        if name in INTENTS:
            return name
    return None


def inbox_labels(conn: Connection, workspace_id: str) -> InboxLabels:
    """Labelled examples from every approved or rejected recommendation of the workspace."""
    r, i = recommendations.c, interactions.c
    rows = conn.execute(
        select(r.status, r.note, i.text, i.language, i.understanding)
        .join(interactions, (i.id == r.interaction_id) & (i.workspace_id == r.workspace_id))
        .where(r.workspace_id == workspace_id, r.status.in_(("approved", "rejected")))
        .order_by(r.decided_ms, r.id)
    ).all()
    examples: list[Example] = []
    rejected: list[tuple[str, str]] = []
    approvals = corrections = 0
    for status, note, text, language, understanding in rows:
        intent = orjson.loads(understanding).get("intent", {}).get("name")
        if not text or language not in ("en", "zh") or not intent:
            continue
        if status == "approved":
            examples.append(Example(text, intent, language))
            approvals += 1
        elif (right := correction(note)) is not None:
            examples.append(Example(text, right, language))
            corrections += 1
        else:
            rejected.append((text, intent))
    return InboxLabels(tuple(examples), tuple(rejected), approvals, corrections)


def macro_f1(model: Classifier) -> dict[str, float]:
    """Macro-F1 of ``model`` on the blind held-out set of each language."""
    from sklearn.metrics import f1_score

    out = {}
    for language in ("zh", "en"):
        held = load_examples(GATE_SPLIT, language)
        predicted = [s.intent for s in predict_set(model, [e.text for e in held])]
        truth = [e.intent for e in held]
        score = f1_score(truth, predicted, labels=list(INTENTS), average="macro", zero_division=0)
        out[language] = round(float(score), 4)
    return out


def predict_set(model: Classifier, texts: Sequence[str]) -> list[IntentScore]:
    """``model.predict(texts)`` for a shipped set: the encoder's vectors are kept per process
    (shipped text, not a customer's), so scoring one set with two models embeds it once."""
    if not isinstance(model, EncoderIntentModel):
        return model.predict(texts)
    return model.predict(texts, _SET_VECTORS.vectors(texts))


def retrain(
    conn: Connection, models: IntentModels, workspace_id: str, actor: str, tolerance: float = 0.0
) -> GateResult:
    """Train a candidate with the inbox's examples; keep it only if no worse (``tolerance``).

    Runs in the caller's transaction: the Decision and, when accepted, the new examples are
    written together.
    """
    current_extra = repo.workspace_examples(conn, workspace_id)
    labels = inbox_labels(conn, workspace_id)
    known = {(e.text, e.intent) for e in current_extra}
    new = [e for e in dict.fromkeys(labels.examples) if (e.text, e.intent) not in known]
    current = models.get(current_extra)
    current_f1 = macro_f1(current)
    if not new:
        result = GateResult(False, current_f1, current_f1, 0, labels,
                            notes=("no new labelled examples in the approval inbox",))  # fmt: skip
        return _record(conn, workspace_id, actor, result, current.version, current.version)
    candidate = models.get([*current_extra, *new])
    candidate_f1 = macro_f1(candidate)
    accepted = all(candidate_f1[k] >= current_f1[k] - tolerance for k in current_f1)
    still_wrong = _still_wrong(candidate, labels.rejected)
    if accepted:
        for e in new:
            repo.add_intent(conn, workspace_id, e.intent, e.language, [e.text])
    result = GateResult(accepted, current_f1, candidate_f1, len(new), labels,
                        rejected_still_wrong=still_wrong)  # fmt: skip
    return _record(conn, workspace_id, actor, result, current.version, candidate.version)


def _still_wrong(model: Classifier, rejected: Sequence[tuple[str, str]]) -> int:
    if not rejected:
        return 0
    scores = model.predict([text for text, _ in rejected])
    return sum(s.intent == wrong for s, (_, wrong) in zip(scores, rejected, strict=True))


def _record(
    conn: Connection, workspace_id: str, actor: str, result: GateResult, current: str, new: str
) -> GateResult:
    verdict = "accepted" if result.accepted else "kept the current model"
    reason = (
        f"Intent model retrain from the approval inbox: {result.new_examples} new examples "
        f"({result.labels.approvals} approvals, {result.labels.corrections} corrections); "
        f"blind held-out macro-F1 zh {result.current['zh']} -> {result.candidate['zh']}, "
        f"en {result.current['en']} -> {result.candidate['en']}; {verdict}."
    )
    decision = Decision(
        workspace_id=workspace_id, kind=RULE, rule=RULE, version=VERSION, reason=reason,
        score=min(result.candidate.values()),
        inputs={**result.as_dict(), "current_model": current, "candidate_model": new},
        actions=[{"action": "replace_intent_model", "status": verdict}], approver=actor,
    )  # fmt: skip
    decision_id = record_decision(conn, decision)
    return GateResult(
        result.accepted, result.current, result.candidate, result.new_examples, result.labels,
        decision_id, result.rejected_still_wrong, result.notes,
    )  # fmt: skip
