"""Understanding one interaction: language, intent, sentiment, entities, contract clauses.

The offline intent model answers unless an LLM endpoint is configured (then the LLM answers,
and the offline model is the fallback). Text in a language the models do not know is still
checked for data-rights requests in several European languages, so an erasure request is not
missed because of its language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crmos.agent.clauses import Clause, extract_clauses
from crmos.agent.entities import Entity, extract
from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import Example, IntentScore
from crmos.agent.llm import LLMClassifier, LLMError
from crmos.agent.model import Document
from crmos.agent.sentiment import Sentiment, sentiment
from crmos.agent.text import clean_message, detect_language
from crmos.core.settings import AgentSettings

ACTIONS = {
    "renewal_interest": "send_renewal_offer",
    "churn_risk": "retention_call",
    "complaint": "service_recovery",
    "data_deletion_request": "start_erasure",
    "data_access_request": "start_access_export",
    "pricing_question": "send_pricing",
    "technical_integration": "share_integration_docs",
    "expansion_signal": "propose_upgrade",
    "meeting_request": "schedule_meeting",
    "payment_issue": "check_billing",
    "other": "none",
}
RIGHTS_MODEL = "crmos.intent.rights-keywords"
_RIGHTS = [
    ("data_deletion_request", re.compile(
        r"lösch|vergessen zu werden|art\.? ?17|dsgvo|supprim|effac|droit à l'oubli|eliminar|"
        r"borrar|supresi[oó]n|excluir|apagar|elimina[cç][aã]o|cancellar|cancellazione|verwijder",
        re.IGNORECASE)),
    ("data_access_request", re.compile(
        r"auskunft|art\.? ?15|accès à mes données|acceso a mis datos|acesso aos meus dados",
        re.IGNORECASE)),
    ("complaint", re.compile(r"beschwer|réclamation|plainte|queja|reclamaci[oó]n|reclama[cç][aã]o",
                             re.IGNORECASE)),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class FoundClause:
    """A clause and the attachment it was found in (None: the document itself)."""

    clause: Clause
    source: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.clause.as_dict(), "source": self.source}


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the agent understood of one interaction."""

    language: str
    intent: IntentScore
    sentiment: Sentiment
    entities: tuple[Entity, ...]
    clauses: tuple[FoundClause, ...] = ()
    notes: tuple[str, ...] = ()
    understood: bool = True

    @property
    def action(self) -> str:
        """The action tag that follows from the intent (``review`` for workspace intents and
        for messages the model abstained on: a person decides)."""
        if self.intent.abstained:
            return "review"
        return ACTIONS.get(self.intent.intent, "review")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        i = self.intent
        return {
            "language": self.language,
            "intent": {
                "name": i.intent,
                "score": i.score,
                "model": i.model,
                "version": i.version,
                "alternatives": [{"name": n, "score": s} for n, s in i.alternatives],
                # no intent was confident enough: a person should look (needs review)
                "abstained": i.abstained,
            },
            "sentiment": {
                "label": self.sentiment.label,
                "score": self.sentiment.score,
                "cues": list(self.sentiment.cues),
            },
            "entities": [e.as_dict() for e in self.entities],
            "clauses": [c.as_dict() for c in self.clauses],
            "notes": list(self.notes),
        }


class Analyzer:
    """Understands documents with the offline models (and the LLM when configured)."""

    def __init__(self, settings: AgentSettings, models: IntentModels) -> None:
        self._settings = settings
        self._models = models
        self._llm = LLMClassifier(settings) if settings.llm_url else None

    def analyze(
        self, document: Document, extra: Sequence[Example] = (), products: Sequence[str] = ()
    ) -> Understanding:
        """Understand a readable document."""
        body = document.text
        found = self.analyze_text(body, extra, products)
        clauses = [FoundClause(c, None) for c in extract_clauses(document.pages)]
        if document.kind in ("pdf", "email"):
            for part in document.parts:
                clauses += [FoundClause(c, part.name) for c in extract_clauses(part.pages)]
        if document.kind != "pdf" and not document.parts:
            clauses = []
        return Understanding(
            found.language, found.intent, found.sentiment, found.entities, tuple(clauses),
            found.notes, found.understood,
        )  # fmt: skip

    def analyze_text(
        self, text: str, extra: Sequence[Example] = (), products: Sequence[str] = ()
    ) -> Understanding:
        """Understand a message given as text."""
        message = clean_message(text)
        language = detect_language(message)
        entities = tuple(extract(text, self._settings.phone_region, products))
        if language == "unknown":
            return self._unknown_language(message, entities)
        intent, notes = self._intent(message, extra)
        return Understanding(language, intent, sentiment(message, language), entities, (), notes)

    def _intent(
        self, message: str, extra: Sequence[Example]
    ) -> tuple[IntentScore, tuple[str, ...]]:
        model = self._models.get(extra)
        if self._llm is None:
            return model.predict([message])[0], ()
        labels = sorted(set(model.labels))
        try:
            return self._llm.classify(message, labels), ()
        except LLMError as exc:
            return model.predict([message])[0], (f"{exc}; used the offline model",)

    def _unknown_language(self, message: str, entities: tuple[Entity, ...]) -> Understanding:
        neutral = Sentiment("neutral", 0.0)
        for intent, pattern in _RIGHTS:
            if pattern.search(message):
                score = IntentScore(intent, 0.9, RIGHTS_MODEL, "1")
                note = "language not recognised; a data-rights or complaint keyword was found"
                return Understanding("unknown", score, neutral, entities, (), (note,))
        score = IntentScore("other", 0.0, RIGHTS_MODEL, "1")
        note = "language not recognised: only Chinese and English are understood"
        return Understanding("unknown", score, neutral, entities, (), (note,), understood=False)
