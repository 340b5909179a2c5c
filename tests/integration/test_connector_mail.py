"""``email.send`` against a real SMTP server (aiosmtpd) on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from crmos.connectors import SendEmail
from crmos.core.errors import ConsentRefused, PermanentError, TransientError
from crmos.core.settings import Settings
from crmos.sagas import ConsentAnswer, StepContext
from tests.integration.connector_support import Inbox, free_port


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"mail-pw-4711"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Settings]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    settings = Settings(
        connectors={
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "from_address": "Acme CS <cs@acme.example>",
                "username": "crmos",
                "password": "mail-pw-4711",
                "timeout_s": 5,
            }
        }
    )
    yield inbox, settings
    controller.stop()


class Granted:
    """A consent port that grants every recipient: these tests are about SMTP. The store's own
    check (``ConsentGate``) is exercised end to end in ``test_consent_actions.py``."""

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, str]] = []

    def check(
        self,
        workspace_id: str,
        *,
        purpose: str,
        channel: str,
        address: str | None = None,
        profile_id: str | None = None,
    ) -> ConsentAnswer:
        self.asked.append((address, purpose))
        return ConsentAnswer(True, "granted for the test", profile_id)


def ctx(key: str = "run-1/mail", consent: Granted | None = None) -> StepContext:
    return StepContext("run-1", "mail", 1, key, workspace_id="ws-1", consent=consent or Granted())


ROI = {
    "name": "Ms Weber",
    "product": "crmos Cloud",
    "company": "ACME",
    "months": 12,
    "roi": "312%",
    "csm": "Li Na",
    "rows": [
        {"label": "Licence cost", "value": "48,000 EUR"},
        {"label": "Hours saved", "value": "2,150 h"},
    ],
}


def test_a_packaged_template_is_sent_as_text_and_html(smtp: tuple[Inbox, Settings]) -> None:
    inbox, settings = smtp
    params = SendEmail.params.model_validate(
        {
            "to": ["weber@acme.example"],
            "subject": "Your {{ months }}-month ROI",
            "template": "roi_sheet",
            "context": ROI,
        }
    )
    result = SendEmail(settings).execute(ctx(), params)
    message = inbox.messages[0]
    assert message["Subject"] == "Your 12-month ROI"
    assert message["From"] == "Acme CS <cs@acme.example>"
    assert message["Message-ID"] == result["message_id"]
    assert result["message_id"].endswith("@acme.example>")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Return on investment: 312%" in text.get_content()
    assert "<td>Hours saved</td>" in html.get_content()
    assert result["accepted"] == ["weber@acme.example"]


def test_a_retried_step_sends_the_same_message_id(smtp: tuple[Inbox, Settings]) -> None:
    inbox, settings = smtp
    params = SendEmail.params.model_validate(
        {"to": ["a@x.example"], "subject": "Hi", "text": "Hello {{ who }}", "context": {"who": "A"}}
    )
    action = SendEmail(settings)
    action.execute(ctx(), params)
    action.execute(ctx(), params)
    action.execute(ctx("run-2/mail"), params)
    ids = [m["Message-ID"] for m in inbox.messages]
    assert ids[0] == ids[1] != ids[2]


def test_html_context_is_escaped(smtp: tuple[Inbox, Settings]) -> None:
    inbox, settings = smtp
    params = SendEmail.params.model_validate(
        {
            "to": ["a@x.example"],
            "subject": "Hi",
            "html": "<p>{{ note }}</p>",
            "context": {"note": "<script>alert(1)</script>"},
        }
    )
    SendEmail(settings).execute(ctx(), params)
    html = inbox.messages[0].get_body(("html",))
    assert html is not None
    assert "&lt;script&gt;" in html.get_content()


def test_a_missing_template_variable_fails_permanently_and_sends_nothing(
    smtp: tuple[Inbox, Settings],
) -> None:
    inbox, settings = smtp
    params = SendEmail.params.model_validate(
        {"to": ["a@x.example"], "subject": "Hi {{ name }}", "text": "x"}
    )
    with pytest.raises(PermanentError, match="'name' is undefined"):
        SendEmail(settings).execute(ctx(), params)
    assert inbox.messages == []


def test_partly_refused_recipients_are_reported(smtp: tuple[Inbox, Settings]) -> None:
    inbox, settings = smtp
    inbox.refuse["gone@x.example"] = "550 5.1.1 no such user"
    params = SendEmail.params.model_validate(
        {"to": ["a@x.example"], "cc": ["gone@x.example"], "subject": "Hi", "text": "x"}
    )
    result = SendEmail(settings).execute(ctx(), params)
    assert result["accepted"] == ["a@x.example"]
    assert result["refused"] == {"gone@x.example": "550 5.1.1 no such user"}
    assert inbox.envelopes[0].rcpt_tos == ["a@x.example"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 no such user", PermanentError), ("451 4.3.0 try later", TransientError)],
)
def test_all_recipients_refused_is_permanent_or_transient_by_code(
    smtp: tuple[Inbox, Settings], reply: str, error: type[Exception]
) -> None:
    inbox, settings = smtp
    inbox.refuse["a@x.example"] = reply
    params = SendEmail.params.model_validate({"to": ["a@x.example"], "subject": "Hi", "text": "x"})
    with pytest.raises(error, match="every recipient was refused"):
        SendEmail(settings).execute(ctx(), params)


def test_a_wrong_password_is_permanent_and_never_shown(smtp: tuple[Inbox, Settings]) -> None:
    _, right = smtp
    wrong = right.connectors.smtp.model_copy(update={"password": SecretStr("wrong-pw-1")})
    settings = Settings(connectors={"smtp": wrong})
    params = SendEmail.params.model_validate({"to": ["a@x.example"], "subject": "Hi", "text": "x"})
    with pytest.raises(PermanentError, match="535") as failure:
        SendEmail(settings).execute(ctx(), params)
    assert "wrong-pw-1" not in str(failure.value)


def test_no_server_listening_is_transient() -> None:
    settings = Settings(connectors={"smtp": {"host": "127.0.0.1", "port": free_port()}})
    params = SendEmail.params.model_validate({"to": ["a@x.example"], "subject": "Hi", "text": "x"})
    with pytest.raises(TransientError, match=r"smtp://127.0.0.1"):
        SendEmail(settings).execute(ctx(), params)


def test_a_marketing_email_asks_consent_for_every_recipient_before_sending(
    smtp: tuple[Inbox, Settings],
) -> None:
    inbox, settings = smtp
    port = Granted()
    params = SendEmail.params.model_validate(
        {"to": ["A <a@x.example>"], "cc": ["b@x.example"], "subject": "Hi", "text": "x"}
    )
    result = SendEmail(settings).execute(ctx(consent=port), params)
    assert port.asked == [("a@x.example", "marketing"), ("b@x.example", "marketing")]
    assert result["purpose"] == "marketing" and len(inbox.messages) == 1


def test_a_marketing_email_without_a_consent_check_is_refused_and_nothing_is_sent(
    smtp: tuple[Inbox, Settings],
) -> None:
    inbox, settings = smtp
    params = SendEmail.params.model_validate({"to": ["a@x.example"], "subject": "Hi", "text": "x"})
    bare = StepContext("run-1", "mail", 1, "run-1/mail")
    with pytest.raises(ConsentRefused, match="no consent to marketing via email") as refused:
        SendEmail(settings).execute(bare, params)
    assert refused.value.code == "consent_refused"
    assert inbox.messages == [] and inbox.envelopes == []


def test_a_service_email_needs_no_consent_check(smtp: tuple[Inbox, Settings]) -> None:
    inbox, settings = smtp
    params = SendEmail.params.model_validate(
        {"to": ["a@x.example"], "subject": "Your request", "text": "Done.", "purpose": "service"}
    )
    bare = StepContext("run-1", "mail", 1, "run-1/mail")
    result = SendEmail(settings).execute(bare, params)
    assert result["purpose"] == "service" and result["consent"] == []
    assert len(inbox.messages) == 1
