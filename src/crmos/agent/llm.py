"""Optional intent classification by an OpenAI-compatible chat endpoint, configured by URL.

Used only when ``agent.llm_url`` is set. The model must answer with one of the allowed intent
names; anything else (a timeout, an error status, an unknown label) falls back to the offline
model, and the fallback is said in the result, never hidden.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from crmos.agent.intents import IntentScore
from crmos.core.errors import CrmosError
from crmos.core.settings import AgentSettings

PROMPT = (
    "You classify customer messages for a CRM. Answer with JSON only: "
    '{{"intent": one of [{labels}], "confidence": a number from 0 to 1}}.'
)


class LLMError(CrmosError):
    """The endpoint could not give a usable answer; the message says why."""

    code = "llm_error"


class LLMClassifier:
    """Asks ``settings.llm_url``'s ``/chat/completions`` for the intent of a message."""

    def __init__(self, settings: AgentSettings) -> None:
        self._settings = settings
        self._url = settings.llm_url.rstrip("/") + "/chat/completions"

    def classify(self, text: str, labels: Sequence[str]) -> IntentScore:
        """The intent the endpoint picks among ``labels``; :class:`LLMError` if unusable."""
        body = {
            "model": self._settings.llm_model or "default",
            "temperature": 0,
            "messages": [
                {"role": "system", "content": PROMPT.format(labels=", ".join(labels))},
                {"role": "user", "content": text[:8000]},
            ],
        }
        key = self._settings.llm_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        try:
            response = httpx.post(
                self._url, json=body, headers=headers, timeout=self._settings.llm_timeout_s
            )
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise LLMError(f"LLM endpoint {self._url} failed: {exc}") from exc
        return self._parse(str(content), labels)

    def _parse(self, content: str, labels: Sequence[str]) -> IntentScore:
        start, end = content.find("{"), content.rfind("}")
        try:
            answer = json.loads(content[start : end + 1])
            intent, confidence = str(answer["intent"]), float(answer.get("confidence", 0.5))
        except (ValueError, KeyError, TypeError) as exc:
            raise LLMError(f"LLM answer is not the JSON asked for: {content[:200]!r}") from exc
        if intent not in labels:
            raise LLMError(f"LLM answered unknown intent '{intent}'")
        model = f"llm:{self._settings.llm_model or 'default'}"
        return IntentScore(intent, round(max(0.0, min(1.0, confidence)), 4), model, self._url)
