"""Connector specs, step params checked before a run, and message formats (no I/O)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from importlib.metadata import entry_points

import pydantic
import pytest

from crmos.connectors import (
    ChatMessage,
    HttpCall,
    PostChat,
    SendEmail,
    dingtalk_sign,
    feishu_sign,
    find_spec,
    packaged_specs,
    parse_spec,
    parse_ua_data,
    ua_data_message,
)
from crmos.connectors.chat import FORMATS
from crmos.connectors.mail import build_message, message_id
from crmos.connectors.redact import register_secret
from crmos.connectors.sim import Faults
from crmos.core.errors import ValidationError
from crmos.core.settings import SmtpSettings

BAD_SPEC = """\
name: Legacy-ERP
base_url: ftp://erp.local
auth: {type: basic, secret: erp_pw}
endpoints:
  create_order:
    method: FETCH
    path: /orders/{order_id}
    colour: red
    compensate: {endpoint: cancel_ordr, with: {id: result.id}}
  cancel_order:
    method: POST
    path: /orders/{order_id}/cancel
    params: {order_id: {type: string, required: true}}
"""


def test_a_spec_loader_reports_every_problem_with_its_path_and_line() -> None:
    with pytest.raises(ValidationError) as failure:
        parse_spec(BAD_SPEC, "legacy.yaml")
    problems = {p.path: p.message for p in failure.value.problems}
    assert problems == {
        "name (line 1)": "must be snake_case (a-z, 0-9, _), e.g. erp",
        "base_url (line 2)": "must be an http:// or https:// URL with a host",
        "endpoints.create_order.method (line 6)": "Input should be 'GET', 'POST', 'PUT', "
        "'PATCH' or 'DELETE'",
        "endpoints.create_order.colour (line 8)": "unknown field",
        "auth.username (line 3)": "basic auth needs a username",
        "endpoints.create_order.path (line 7)": "path placeholder {order_id} needs a required "
        "param 'order_id'",
        "endpoints.create_order.compensate.endpoint (line 9)": "endpoint 'cancel_ordr' is not "
        "declared in this spec; did you mean 'cancel_order'?",
    }
    assert failure.value.message.startswith("connector spec legacy.yaml has 7 problem(s)")


def test_a_compensation_must_bind_every_required_param_from_result_or_params() -> None:
    text = BAD_SPEC.replace("Legacy-ERP", "legacy").replace("ftp", "https")
    text = text.replace("FETCH", "POST").replace("    colour: red\n", "")
    text = text.replace("/orders/{order_id}\n", "/orders\n")
    text = text.replace("auth: {type: basic, secret: erp_pw}", "auth: {type: bearer, secret: pw}")
    text = text.replace(
        "{endpoint: cancel_ordr, with: {id: result.id}}",
        "{endpoint: cancel_order, with: {order_id: reply.id}}",
    )
    with pytest.raises(ValidationError) as failure:
        parse_spec(text, "legacy.yaml")
    assert [p.message for p in failure.value.problems] == [
        "'reply.id' must be result.FIELD or params.FIELD"
    ]


def test_a_spec_that_is_not_yaml_names_the_line() -> None:
    with pytest.raises(ValidationError, match="line 2"):
        parse_spec("name: x\nendpoints: [unclosed\n", "broken.yaml")


def test_the_packaged_specs_load_and_every_write_has_a_compensation_or_is_a_write_of_one() -> None:
    specs = packaged_specs()
    assert sorted(specs) == ["erp", "mes", "scm", "servicedesk"]
    compensations = {
        e.compensate.endpoint for s in specs.values() for e in s.endpoints.values() if e.compensate
    }
    assert compensations == {
        "void_contract",
        "release_credit",
        "release_capacity",
        "unlock_material",
        "close_ticket",
        "detach",
        "cancel_dispatch",
    }


def test_every_registered_action_builds_and_its_params_fit_its_spec_endpoint() -> None:
    names = sorted(ep.name for ep in entry_points(group="crmos.actions"))
    assert {
        "erp.credit_check",
        "mes.reserve_capacity",
        "scm.lock_material",
        "chat.post",
        "email.send",
        "mqtt.publish",
        "opcua.write",
        "http.call",
    } <= set(names)
    for ep in entry_points(group="crmos.actions"):
        if not ep.value.startswith("crmos.connectors."):
            continue
        action = ep.load()
        assert action.name == ep.name
        connector = getattr(action, "connector", None)
        if connector is not None:
            declared = find_spec(connector).endpoint(action.endpoint).params
            assert set(action.params.model_fields) <= set(declared), ep.name


def test_http_call_params_are_checked_against_the_spec_before_a_run() -> None:
    with pytest.raises(pydantic.ValidationError, match="did you mean 'credit_check'"):
        HttpCall.params.model_validate({"connector": "erp", "endpoint": "credit_chek"})
    with pytest.raises(pydantic.ValidationError) as failure:
        HttpCall.params.model_validate(
            {"connector": "erp", "endpoint": "credit_check", "params": {"amount": "lots", "x": 1}}
        )
    text = str(failure.value)
    assert "params.customer_id: Field required" in text
    assert "params.amount: Input should be a valid number" in text
    assert "params.x: not declared by the endpoint" in text


def test_chat_and_email_params_are_checked_before_a_run() -> None:
    with pytest.raises(pydantic.ValidationError, match="a card needs a title"):
        PostChat.params.model_validate({"webhook": "w", "kind": "card", "text": "x"})
    with pytest.raises(pydantic.ValidationError, match="text: line 1: unexpected end of template"):
        PostChat.params.model_validate({"webhook": "w", "text": "Hi {{ name"})
    with pytest.raises(pydantic.ValidationError) as failure:
        SendEmail.params.model_validate({"to": ["nobody"], "subject": "s", "template": "nope"})
    assert "not e-mail addresses: nobody" in str(failure.value)
    with pytest.raises(
        pydantic.ValidationError, match=r"unknown template 'nope'.*notice, roi_sheet"
    ):
        SendEmail.params.model_validate({"to": ["a@b.example"], "subject": "s", "template": "nope"})


def test_dingtalk_signs_timestamp_and_secret_with_the_secret_as_key() -> None:
    expected = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    assert dingtalk_sign("SECabc", 1700000000000) == base64.b64encode(expected).decode()


def test_feishu_signs_an_empty_message_with_timestamp_and_secret_as_key() -> None:
    expected = hmac.new(b"1700000000\nabc", b"", hashlib.sha256).digest()
    assert feishu_sign("abc", 1700000000) == base64.b64encode(expected).decode()


def test_a_text_message_takes_each_platforms_shape() -> None:
    message = ChatMessage("Done")
    assert {p: f(message) for p, f in FORMATS.items()} == {
        "dingtalk": {
            "msgtype": "text",
            "text": {"content": "Done"},
            "at": {"atMobiles": [], "isAtAll": False},
        },
        "feishu": {"msg_type": "text", "content": {"text": "Done"}},
        "wecom": {"msgtype": "text", "text": {"content": "Done", "mentioned_mobile_list": []}},
        "slack": {"text": "Done"},
    }


def test_a_card_without_a_button_is_dingtalk_markdown() -> None:
    body = FORMATS["dingtalk"](ChatMessage("body", title="Alert", kind="card"))
    assert body["markdown"] == {"title": "Alert", "text": "### Alert\n\nbody"}


def test_ua_data_messages_round_trip() -> None:
    message = ua_data_message(
        {"Pressure": 2.5}, message_id="m-1", publisher_id="plc-3", sequence_number=9
    )
    parsed = parse_ua_data(message)
    assert (parsed.message_id, parsed.publisher_id) == ("m-1", "plc-3")
    assert parsed.datasets[0].sequence_number == 9
    assert parsed.datasets[0].values["Pressure"].value == 2.5


def test_a_malformed_ua_data_message_lists_every_problem() -> None:
    with pytest.raises(ValidationError) as failure:
        parse_ua_data(
            b'{"MessageType": "ua-metadata", "Messages": [{"Payload": '
            b'{"T": 21, "P": {"Value": 1, "SourceTimestamp": "yesterday"}}}]}'
        )
    assert [(p.path, p.message) for p in failure.value.problems] == [
        ("MessageType", "must be 'ua-data'"),
        ("MessageId", "required (a string)"),
        ("PublisherId", "required (a string)"),
        ("Messages[0].Payload.T", "expected a DataValue with Value"),
        ("Messages[0].Payload.P.SourceTimestamp", "not an ISO 8601 time: 'yesterday'"),
    ]


def test_the_message_id_is_stable_per_step_and_uses_the_sender_domain() -> None:
    assert message_id("run-1/mail", "CS <cs@acme.example>") == message_id(
        "run-1/mail", "cs@acme.example"
    )
    assert message_id("run-1/mail", "x@acme.example") != message_id("run-2/mail", "x@acme.example")
    assert message_id("k", "x@acme.example").endswith(".crmos@acme.example>")


def test_a_message_built_from_html_only_gets_a_text_part() -> None:
    params = SendEmail.params.model_validate(
        {
            "to": ["a@b.example"],
            "subject": "Hi {{ n }}",
            "html": "<p>Hello {{ n }}</p>",
            "context": {"n": "Ana"},
        }
    )
    message = build_message(SmtpSettings(), params, "k")
    text = message.get_body(("plain",))
    assert message["Subject"] == "Hi Ana"
    assert text is not None and text.get_content().strip() == "Hello Ana"


def test_registered_secrets_are_masked_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("hunter2-token")
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").info("HTTP Request: POST %s", "https://x/?t=hunter2-token")
    assert caplog.records[0].getMessage() == "HTTP Request: POST https://x/?t=***"


def test_fault_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="error_rate must be between 0 and 1"):
        Faults(error_rate=1.5)


def test_every_public_name_of_the_connectors_room_resolves() -> None:
    import crmos.connectors as room

    assert room.__all__ == sorted(room.__all__)
    assert all(getattr(room, name) is not None for name in room.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        getattr(room, "Nope")  # noqa: B009 - the lazy loader is what is tested


def test_the_packaged_specs_and_the_simulators_declare_the_same_endpoints() -> None:
    from crmos.connectors.sim import DOMAINS

    for kind, domain in DOMAINS.items():
        spec = {n: (e.method, e.path) for n, e in find_spec(kind).endpoints.items()}
        sim = {r.operation: (r.method, r.pattern) for r in domain.routes}
        assert spec == sim, kind
