"""``chat.post`` in the DingTalk, Feishu, WeCom and Slack formats, against a recording server."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crmos.connectors import PostChat, dingtalk_sign, feishu_sign
from crmos.core.errors import PermanentError, TransientError
from crmos.core.settings import Settings
from crmos.sagas import StepContext
from tests.integration.connector_support import Recorder

CTX = StepContext(
    "run-1", "notify", 1, "run-1/notify", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
)
ALERT = {
    "kind": "card",
    "title": "High renewal risk: {{ account }}",
    "severity": "critical",
    "text": "**{{ account }}** viewed renewal options {{ views }} times in 3 days.",
    "context": {"account": "ACME", "views": 3},
    "button_text": "Open account",
    "button_url": "https://crm.example/accounts/acme",
}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


def chat(recorder: Recorder) -> PostChat:
    hooks = {
        "ding": {
            "platform": "dingtalk",
            "url": f"{recorder.url}/robot/send?access_token=dt-tok-1",
            "secret": "SECdingsecret",
        },
        "lark": {
            "platform": "feishu",
            "url": f"{recorder.url}/open-apis/bot/v2/hook/fs-tok-2",
            "secret": "feishu-secret",
        },
        "wecom": {"platform": "wecom", "url": f"{recorder.url}/cgi-bin/webhook/send?key=wc-tok-3"},
        "slack": {"platform": "slack", "url": f"{recorder.url}/services/T1/B2/sl-tok-4"},
    }
    return PostChat(Settings(connectors={"chat_webhooks": hooks}))


def post(recorder: Recorder, webhook: str, **params: Any) -> dict[str, Any]:
    action = chat(recorder)
    try:
        return action.execute(CTX, PostChat.params.model_validate({"webhook": webhook, **params}))
    finally:
        action.close()


def test_dingtalk_requests_are_signed_as_documented(recorder: Recorder) -> None:
    recorder.answer = b'{"errcode": 0, "errmsg": "ok"}'
    before = int(time.time() * 1000)
    post(
        recorder,
        "ding",
        text="Renewal task for {{ who }}",
        context={"who": "Li Na"},
        mentions=["13800000000"],
    )
    seen = recorder.seen[0]
    query = parse_qs(urlsplit(seen.path).query)
    stamp = int(query["timestamp"][0])
    assert before <= stamp <= int(time.time() * 1000)
    assert query["sign"][0] == dingtalk_sign("SECdingsecret", stamp)
    assert query["access_token"] == ["dt-tok-1"]
    assert seen.json() == {
        "msgtype": "text",
        "text": {"content": "Renewal task for Li Na"},
        "at": {"atMobiles": ["13800000000"], "isAtAll": False},
    }
    assert seen.headers["idempotency-key"] == "run-1/notify"
    assert seen.headers["traceparent"] == CTX.traceparent


def test_dingtalk_cards_are_action_cards_with_one_button(recorder: Recorder) -> None:
    recorder.answer = b'{"errcode": 0, "errmsg": "ok"}'
    result = post(recorder, "ding", **ALERT)
    card = recorder.seen[0].json()["actionCard"]
    assert result["msgtype"] == "actionCard"
    assert card["title"] == "High renewal risk: ACME"
    assert card["singleURL"] == "https://crm.example/accounts/acme"
    assert "**ACME** viewed renewal options 3 times" in card["text"]


def test_feishu_cards_carry_the_signature_in_the_body(recorder: Recorder) -> None:
    recorder.answer = b'{"code": 0, "msg": "success", "data": {}}'
    post(recorder, "lark", **ALERT)
    body = recorder.seen[0].json()
    assert body["sign"] == feishu_sign("feishu-secret", int(body["timestamp"]))
    assert abs(int(body["timestamp"]) - time.time()) < 5
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"] == {
        "title": {"tag": "plain_text", "content": "High renewal risk: ACME"},
        "template": "red",
    }
    assert card["elements"][0]["text"]["tag"] == "lark_md"
    assert card["elements"][1]["actions"][0]["url"] == "https://crm.example/accounts/acme"


def test_wecom_cards_are_markdown(recorder: Recorder) -> None:
    recorder.answer = b'{"errcode": 0, "errmsg": "ok"}'
    post(recorder, "wecom", **ALERT)
    seen = recorder.seen[0]
    assert seen.path == "/cgi-bin/webhook/send?key=wc-tok-3"
    content = seen.json()["markdown"]["content"]
    assert content.startswith('## <font color="warning">High renewal risk: ACME</font>')
    assert "[Open account](https://crm.example/accounts/acme)" in content


def test_slack_cards_are_blocks_with_a_fallback_text(recorder: Recorder) -> None:
    recorder.answer = b"ok"
    post(recorder, "slack", **ALERT)
    body = recorder.seen[0].json()
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "actions"]
    assert body["blocks"][2]["elements"][0]["style"] == "danger"
    assert body["text"].startswith("High renewal risk: ACME: ")


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (
            b'{"errcode": 310000, "errmsg": "sign not match"}',
            PermanentError,
            "310000 sign not match",
        ),
        (b'{"errcode": 130101, "errmsg": "send too fast"}', TransientError, "130101"),
    ],
)
def test_refusals_inside_a_200_answer_are_errors(
    recorder: Recorder, answer: bytes, error: type[Exception], words: str
) -> None:
    recorder.answer = answer
    with pytest.raises(error, match=words):
        post(recorder, "ding", text="hi")


def test_a_slack_rate_limit_is_transient(recorder: Recorder) -> None:
    recorder.status, recorder.answer = 429, b"rate_limited"
    with pytest.raises(TransientError, match="HTTP 429"):
        post(recorder, "slack", text="hi")


def test_an_unknown_webhook_lists_the_configured_ones(recorder: Recorder) -> None:
    with pytest.raises(PermanentError, match=r"unknown webhook 'sales'.*ding, lark, slack, wecom"):
        post(recorder, "sales", text="hi")
    assert recorder.seen == []


def test_webhook_tokens_and_secrets_never_reach_the_logs(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder.answer = b'{"errcode": 0, "errmsg": "ok"}'
    post(recorder, "ding", text="hi")
    post(recorder, "slack", text="hi")
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    for secret in ("dt-tok-1", "SECdingsecret", "sl-tok-4"):
        assert secret not in caplog.text
