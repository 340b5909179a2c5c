"""``chat.post``: group-chat webhooks in the DingTalk, Feishu, WeCom and Slack formats.

Webhooks are named in settings (``connectors.chat_webhooks``: platform, URL, signing secret),
so a playbook says ``webhook: sales-directors`` and never holds a token. DingTalk and Feishu
requests are signed as their documentation says when a secret is set:

- DingTalk: ``sign = base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}"))``, sent
  as the ``timestamp`` and ``sign`` query parameters;
- Feishu: ``sign = base64(HMAC-SHA256(key=f"{timestamp_s}\\n{secret}", msg=b""))``, sent as the
  ``timestamp`` and ``sign`` fields of the JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, Field, model_validator

from crmos.connectors.actions import Params
from crmos.connectors.base import SettingsLike, connector_settings
from crmos.connectors.redact import register_secret
from crmos.connectors.render import check_syntax, render
from crmos.connectors.runner import USER_AGENT, answer
from crmos.core.errors import PermanentError, TransientError
from crmos.core.settings import ChatWebhookSettings
from crmos.sagas import StepContext

Platform = Literal["dingtalk", "feishu", "wecom", "slack"]
Severity = Literal["info", "warning", "critical"]
#: Platform error codes that mean "too many messages, try later".
RATE_LIMITED = {"dingtalk": {130101}, "wecom": {45009}, "feishu": {9499, 11232}}


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message before it takes a platform's shape. ``text`` is Markdown in a card."""

    text: str
    title: str = ""
    kind: Literal["text", "card"] = "text"
    severity: Severity = "info"
    button_text: str | None = None
    button_url: str | None = None
    mentions: tuple[str, ...] = ()


def dingtalk_body(msg: ChatMessage) -> dict[str, Any]:
    """DingTalk custom robot: ``text``, or ``actionCard`` (Markdown + one button)."""
    at = {"atMobiles": list(msg.mentions), "isAtAll": False}
    if msg.kind == "text":
        return {"msgtype": "text", "text": {"content": msg.text}, "at": at}
    if msg.button_url:
        card = {
            "title": msg.title,
            "text": f"### {msg.title}\n\n{msg.text}",
            "singleTitle": msg.button_text or "Open",
            "singleURL": msg.button_url,
        }
        return {"msgtype": "actionCard", "actionCard": card, "at": at}
    markdown = {"title": msg.title, "text": f"### {msg.title}\n\n{msg.text}"}
    return {"msgtype": "markdown", "markdown": markdown, "at": at}


FEISHU_COLOURS = {"info": "blue", "warning": "orange", "critical": "red"}


def feishu_body(msg: ChatMessage) -> dict[str, Any]:
    """Feishu custom bot: ``text``, or an ``interactive`` card (header, lark_md, button)."""
    if msg.kind == "text":
        return {"msg_type": "text", "content": {"text": msg.text}}
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": msg.text}}
    ]
    if msg.button_url:
        button = {
            "tag": "button",
            "text": {"tag": "plain_text", "content": msg.button_text or "Open"},
            "url": msg.button_url,
            "type": "danger" if msg.severity == "critical" else "primary",
        }
        elements.append({"tag": "action", "actions": [button]})
    header = {
        "title": {"tag": "plain_text", "content": msg.title},
        "template": FEISHU_COLOURS[msg.severity],
    }
    return {"msg_type": "interactive", "card": {"header": header, "elements": elements}}


def wecom_body(msg: ChatMessage) -> dict[str, Any]:
    """WeCom group robot: ``text`` (with mentions), or ``markdown`` for a card."""
    if msg.kind == "text":
        text = {"content": msg.text, "mentioned_mobile_list": list(msg.mentions)}
        return {"msgtype": "text", "text": text}
    colour = {"info": "info", "warning": "warning", "critical": "warning"}[msg.severity]
    lines = [f'## <font color="{colour}">{msg.title}</font>', "", msg.text]
    if msg.button_url:
        lines += ["", f"[{msg.button_text or 'Open'}]({msg.button_url})"]
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}


def slack_body(msg: ChatMessage) -> dict[str, Any]:
    """Slack incoming webhook: ``text``, or Block Kit blocks (header, mrkdwn, button)."""
    if msg.kind == "text":
        return {"text": msg.text}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": msg.title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": msg.text}},
    ]
    if msg.button_url:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": msg.button_text or "Open"},
            "url": msg.button_url,
        }
        if msg.severity == "critical":
            button["style"] = "danger"
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": f"{msg.title}: {msg.text}", "blocks": blocks}


FORMATS = {
    "dingtalk": dingtalk_body,
    "feishu": feishu_body,
    "wecom": wecom_body,
    "slack": slack_body,
}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature (base64; the HTTP client URL-encodes it as a query parameter)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: the HMAC key is ``timestamp\\nsecret`` and the message is empty."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class ChatParams(Params):
    """A message to a named webhook; ``title`` and ``text`` are templates over ``context``."""

    webhook: str = Field(min_length=1, description="Webhook name in connectors.chat_webhooks.")
    kind: Literal["text", "card"] = Field(default="text", description="Plain text or a card.")
    title: str = Field(default="", description="Card title (a template).")
    text: str = Field(min_length=1, description="Message text, Markdown in cards (a template).")
    context: dict[str, Any] = Field(default={}, description="Template variables.")
    severity: Severity = Field(default="info", description="Card colour.")
    button_text: str | None = Field(default=None, description="Card button label.")
    button_url: str | None = Field(default=None, description="Card button link.")
    mentions: list[str] = Field(default=[], description="Mobile numbers to @-mention.")

    @model_validator(mode="after")
    def _card_needs_title(self) -> ChatParams:
        if self.kind == "card" and not self.title:
            raise ValueError("a card needs a title")
        check_syntax(self.title, "title")
        check_syntax(self.text, "text")
        return self


class PostChat:
    """``chat.post``: post to a DingTalk, Feishu, WeCom or Slack group webhook.

    Webhooks offer no recall, so compensation does nothing.
    """

    name: ClassVar[str] = "chat.post"
    params: ClassVar[type[BaseModel]] = ChatParams

    def __init__(self, settings: SettingsLike, *, timeout_s: float | None = None) -> None:
        config = connector_settings(settings)
        self.webhooks = config.chat_webhooks
        self.timeout_s = timeout_s or config.timeout_s
        for hook in self.webhooks.values():
            url = httpx.URL(hook.url.get_secret_value())
            # The token is in the query (DingTalk, WeCom) or else in the path (Slack, Feishu).
            register_secret(hook.url.get_secret_value(), url.query.decode() or url.path)
            if hook.secret is not None:
                register_secret(hook.secret.get_secret_value())
        self._client = httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=False)
        self._finalizer = weakref.finalize(self, self._client.close)

    def close(self) -> None:
        """Release the pooled connections."""
        self._finalizer()

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Render, shape, sign and post the message."""
        assert isinstance(params, ChatParams)
        hook = self._webhook(params.webhook)
        target = f"chat.post {params.webhook} ({hook.platform})"
        message = ChatMessage(
            text=render(params.text, params.context, target=target),
            title=render(params.title, params.context, target=target),
            kind=params.kind,
            severity=params.severity,
            button_text=params.button_text,
            button_url=params.button_url,
            mentions=tuple(params.mentions),
        )
        body = FORMATS[hook.platform](message)
        url, body = _signed(hook, body, time.time())
        headers = {"Idempotency-Key": ctx.idempotency_key}
        if ctx.traceparent:
            headers["traceparent"] = ctx.traceparent
        try:
            response = self._client.post(url, json=body, headers=headers, timeout=self.timeout_s)
        except httpx.TimeoutException as exc:
            raise TransientError(target, f"no answer within {self.timeout_s:.1f}s") from exc
        except httpx.TransportError as exc:
            raise TransientError(target, f"{type(exc).__name__}: {exc}") from exc
        _check(hook.platform, target, response)
        return {"webhook": params.webhook, "platform": hook.platform, "msgtype": _kind(body)}

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Nothing to undo: a webhook message cannot be recalled."""

    def _webhook(self, name: str) -> ChatWebhookSettings:
        if name not in self.webhooks:
            known = ", ".join(sorted(self.webhooks)) or "none configured"
            raise PermanentError(
                "chat.post",
                f"unknown webhook '{name}' (known: {known}); add it under connectors.chat_webhooks",
            )
        return self.webhooks[name]


def _signed(
    hook: ChatWebhookSettings, body: dict[str, Any], now: float
) -> tuple[httpx.URL, dict[str, Any]]:
    url = httpx.URL(hook.url.get_secret_value())
    if hook.secret is None:
        return url, body
    secret = hook.secret.get_secret_value()
    if hook.platform == "dingtalk":
        stamp = int(now * 1000)
        return url.copy_merge_params(
            {"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)}
        ), body
    if hook.platform == "feishu":
        stamp = int(now)
        return url, {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **body}
    return url, body  # WeCom and Slack carry their secret in the URL itself


def _kind(body: dict[str, Any]) -> str:
    return str(
        body.get("msgtype") or body.get("msg_type") or ("blocks" if "blocks" in body else "text")
    )


def _check(platform: str, target: str, response: httpx.Response) -> None:
    """Errors hide in 200 answers: DingTalk/WeCom ``errcode``, Feishu ``code``, Slack text."""
    if platform == "slack":  # Slack answers plain text "ok", or an error status
        if response.status_code >= 300:
            answer(target, response)  # raises with the right error class
        return
    body = answer(target, response)
    code = body.get("errcode", body.get("code", body.get("StatusCode", 0)))
    if code in (0, None):
        return
    message = body.get("errmsg") or body.get("msg") or body.get("StatusMessage") or body
    error = TransientError if code in RATE_LIMITED.get(platform, set()) else PermanentError
    raise error(target, f"{platform} refused the message: {code} {message}")
