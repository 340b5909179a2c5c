"""``email.send``: e-mail over SMTP, rendered from Jinja2 templates.

SMTP has no idempotency key, so the message's ``Message-ID`` is derived from the step's key:
a retry after a lost answer sends a message with the same ``Message-ID``, which mail servers
and clients use to drop the duplicate.

Every message states its ``purpose`` (``marketing`` unless said otherwise). Before anything is
sent, the run's consent port is asked about each recipient (see
:func:`crmos.connectors.base.require_consent`); ``transactional``, ``service`` and ``internal``
messages need no marketing consent.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, ClassVar, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from crmos.connectors.actions import Params
from crmos.connectors.base import (
    SettingsLike,
    connector_settings,
    key_digest,
    require_consent,
)
from crmos.connectors.redact import register_secret
from crmos.connectors.render import (
    check_syntax,
    has_template,
    packaged_templates,
    render,
    render_packaged,
)
from crmos.core.errors import PermanentError, TransientError
from crmos.core.settings import SmtpSettings
from crmos.sagas import StepContext

TARGET = "email.send"


class EmailParams(Params):
    """One e-mail: recipients, a subject, and a packaged template or inline bodies."""

    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    cc: list[str] = Field(default=[], description="Copy recipients.")
    subject: str = Field(min_length=1, description="Subject (a template).")
    template: str | None = Field(default=None, description="Packaged template, e.g. notice.")
    text: str | None = Field(default=None, description="Inline plain-text body (a template).")
    html: str | None = Field(default=None, description="Inline HTML body (a template).")
    context: dict[str, Any] = Field(default={}, description="Template variables.")
    reply_to: str | None = Field(default=None, description="Reply-To address.")
    purpose: str = Field(
        default="marketing",
        min_length=1,
        description=(
            "Why the person gets it: marketing (default; needs consent), or transactional, "
            "service or internal (no marketing consent needed)."
        ),
    )
    profile_id: str | None = Field(
        default=None, description="The profile the message is for (checked with its addresses)."
    )

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if "@" not in parseaddr(v)[1]]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return values

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        if (self.template is None) == (self.text is None and self.html is None):
            raise ValueError("give either template or text/html")
        if self.template is not None and not has_template(f"email/{self.template}.txt.j2"):
            known = ", ".join(packaged_templates("email"))
            raise ValueError(f"unknown template '{self.template}' (known: {known})")
        for name in ("subject", "text", "html"):
            source = getattr(self, name)
            if source is not None:
                check_syntax(source, name)
        return self


class SendEmail:
    """``email.send``: render and hand the message to the SMTP server from settings.

    A sent e-mail cannot be recalled, so compensation does nothing; put e-mails after the
    steps that may fail, or send a correction as a later step.
    """

    name: ClassVar[str] = "email.send"
    params: ClassVar[type[BaseModel]] = EmailParams

    def __init__(self, settings: SettingsLike) -> None:
        self.smtp = connector_settings(settings).smtp
        if self.smtp.password is not None:
            register_secret(self.smtp.password.get_secret_value())

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Send the message; the answer names its ``Message-ID`` and any refused recipient."""
        assert isinstance(params, EmailParams)
        recipients = [parseaddr(a)[1] for a in [*params.to, *params.cc]]
        consent = require_consent(
            ctx, self.name, params.purpose, "email", recipients, params.profile_id
        )
        message = build_message(self.smtp, params, ctx.idempotency_key)
        refused = deliver(self.smtp, message)
        accepted = [a for a in [*params.to, *params.cc] if parseaddr(a)[1] not in refused]
        return {
            "message_id": message["Message-ID"],
            "purpose": params.purpose,
            "consent": consent,
            "accepted": accepted,
            "refused": {
                addr: f"{code} {reply.decode(errors='replace')}"
                for addr, (code, reply) in refused.items()
            },
        }

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Nothing to undo: an e-mail cannot be recalled."""


def build_message(smtp: SmtpSettings, params: EmailParams, key: str) -> EmailMessage:
    """The MIME message (text, or text + HTML alternative) with a key-derived ``Message-ID``."""
    context = dict(params.context)
    message = EmailMessage()
    message["From"] = smtp.from_address
    message["To"] = ", ".join(params.to)
    if params.cc:
        message["Cc"] = ", ".join(params.cc)
    if params.reply_to:
        message["Reply-To"] = params.reply_to
    message["Subject"] = render(params.subject, context, target=TARGET).strip()
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(key, smtp.from_address)
    text, html = _bodies(params, context)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def message_id(key: str, from_address: str) -> str:
    """``<digest-of-key@sender-domain>``: the same step always yields the same id."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "crmos.invalid"
    return f"<{key_digest(key)}.crmos@{Address(domain=domain).domain}>"


def _bodies(params: EmailParams, context: dict[str, Any]) -> tuple[str, str | None]:
    if params.template is not None:
        base = f"email/{params.template}"
        text = render_packaged(f"{base}.txt.j2", context, target=TARGET)
        html_path = f"{base}.html.j2"
        html = (
            render_packaged(html_path, context, target=TARGET) if has_template(html_path) else None
        )
        return text, html
    html = render(params.html, context, target=TARGET, html=True) if params.html else None
    text = render(params.text, context, target=TARGET) if params.text else _strip_html(html)
    return text, html


def _strip_html(html: str | None) -> str:
    return re.sub(r"<[^>]+>", "", html or "").strip() + "\n"


def deliver(smtp: SmtpSettings, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Hand ``message`` to the server; returns the recipients it refused (if not all)."""
    target = f"smtp://{smtp.host}:{smtp.port}"
    try:
        with _connect(smtp) as client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                password = smtp.password.get_secret_value() if smtp.password else ""
                client.login(smtp.username, password)
            return client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        error = TransientError if all(400 <= c < 500 for c in codes) else PermanentError
        raise error(target, f"every recipient was refused: {_refusals(exc.recipients)}") from exc
    except smtplib.SMTPResponseException as exc:
        error = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
        reply = exc.smtp_error
        reply = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        raise error(target, f"server answered {exc.smtp_code} {reply}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientError(target, f"{type(exc).__name__}: {exc}") from exc


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    if smtp.security == "ssl":
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
    return smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{a}: {c} {r.decode(errors='replace')}" for a, (c, r) in recipients.items())
