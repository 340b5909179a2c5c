"""The optional LLM path, against a real OpenAI-compatible HTTP endpoint on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from crmos.agent.intent_encoder import MODEL_NAME as ENCODER_MODEL
from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import MODEL_NAME as TFIDF_MODEL
from crmos.agent.understand import Analyzer
from crmos.core.settings import AgentSettings

# The offline model in use: the encoder model where its package is installed, else TF-IDF.
OFFLINE = ENCODER_MODEL if IntentModels(None).kind == "encoder" else TFIDF_MODEL


class ChatStub(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with the intent the test asks for."""

    answer: str = '{"intent": "meeting_request", "confidence": 0.81}'
    status: int = 200
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatStub.seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        reply = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": self.answer}}]}
        )
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ChatStub.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _analyzer(url: str) -> Analyzer:
    settings = AgentSettings(llm_url=url, llm_model="tiny", llm_api_key="sk-test")
    return Analyzer(settings, IntentModels(None))


def test_a_configured_llm_endpoint_classifies_the_intent(endpoint: str) -> None:
    ChatStub.answer, ChatStub.status = '{"intent": "meeting_request", "confidence": 0.81}', 200
    found = _analyzer(endpoint).analyze_text("Could we talk on Friday about the rollout?")
    assert (found.intent.intent, found.intent.score, found.intent.model) == (
        "meeting_request",
        0.81,
        "llm:tiny",
    )
    (call,) = ChatStub.seen
    assert call["path"] == "/v1/chat/completions" and call["auth"] == "Bearer sk-test"
    assert "renewal_interest" in call["body"]["messages"][0]["content"]


@pytest.mark.parametrize(
    ("answer", "status"), [('{"intent": "buy_a_boat"}', 200), ("not json", 200), ("{}", 500)]
)
def test_an_unusable_llm_answer_falls_back_to_the_offline_model_and_says_so(
    endpoint: str, answer: str, status: int
) -> None:
    ChatStub.answer, ChatStub.status = answer, status
    found = _analyzer(endpoint).analyze_text("We want to renew our subscription for another year.")
    assert found.intent.model == OFFLINE and found.intent.intent == "renewal_interest"
    assert "used the offline model" in found.notes[0]


def test_without_a_url_no_request_is_made(endpoint: str) -> None:
    assert endpoint  # a server is listening, but nothing points at it
    found = Analyzer(AgentSettings(), IntentModels(None)).analyze_text("What does it cost?")
    assert found.intent.model == OFFLINE and ChatStub.seen == []
