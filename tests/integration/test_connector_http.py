"""HTTP connector specs run by the generic runner, against the simulators and a recording server."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crmos.connectors import (
    ContractDraft,
    CreditCheck,
    DefectLookup,
    HttpCall,
    HttpRunner,
    LockMaterial,
    ReserveCapacity,
    parse_spec,
    start_simulator,
    start_simulators,
)
from crmos.core.errors import PermanentError, TransientError
from crmos.core.settings import Settings
from crmos.sagas import StepContext
from tests.integration.connector_support import Recorder

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def ctx(run_id: str = "run-1", step_id: str = "step", **extra: Any) -> StepContext:
    return StepContext(run_id, step_id, 1, f"{run_id}/{step_id}", **extra)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


SPEC = """
name: rec
base_url: {url}/api
auth: {{type: bearer, secret: rec_token}}
endpoints:
  create_order:
    method: POST
    path: /orders
    identifiers: [customer_id]
    params:
      customer_id: {{type: string, required: true}}
      amount: {{type: number, required: true}}
    compensate: {{endpoint: cancel_order, with: {{order_id: result.order_id}}}}
  cancel_order:
    method: POST
    path: /orders/{{order_id}}/cancel
    params: {{order_id: {{type: string, required: true}}}}
  get_order:
    method: GET
    path: /orders/{{order_id}}
    params:
      order_id: {{type: string, required: true}}
      expand: {{type: string}}
"""


def rec_runner(recorder: Recorder, **connectors: Any) -> HttpRunner:
    settings = Settings(connectors={"secrets": {"rec_token": "tok-123456"}, **connectors})
    return HttpRunner(settings, specs={"rec": parse_spec(SPEC.format(url=recorder.url), "rec")})


def test_the_runner_sends_the_idempotency_key_traceparent_and_bearer_token(
    recorder: Recorder,
) -> None:
    runner = rec_runner(recorder)
    try:
        result = runner.call(
            "rec", "create_order", {"customer_id": "c1", "amount": 5}, ctx(traceparent=TRACEPARENT)
        )
    finally:
        runner.close()
    seen = recorder.seen[0]
    assert result == {"ok": True}
    assert (seen.method, seen.path) == ("POST", "/api/orders")
    assert seen.headers["idempotency-key"] == "run-1/step"
    assert seen.headers["traceparent"] == TRACEPARENT
    assert seen.headers["authorization"] == "Bearer tok-123456"
    assert seen.json() == {"customer_id": "c1", "amount": 5.0}


def test_get_params_go_in_the_query_and_path_params_are_escaped(recorder: Recorder) -> None:
    runner = rec_runner(recorder)
    try:
        runner.call("rec", "get_order", {"order_id": "../../admin?x=1", "expand": "lines"}, ctx())
    finally:
        runner.close()
    assert recorder.seen[0].path == "/api/orders/..%2F..%2Fadmin%3Fx%3D1?expand=lines"


def test_compensation_calls_the_declared_endpoint_with_a_distinct_key(recorder: Recorder) -> None:
    runner = rec_runner(recorder)
    try:
        runner.compensate("rec", "create_order", {}, {"order_id": "o-7"}, ctx())
        with pytest.raises(PermanentError, match="its result has no 'order_id'"):
            runner.compensate("rec", "create_order", {}, {"id": "o-7"}, ctx())
    finally:
        runner.close()
    assert recorder.seen[0].path == "/api/orders/o-7/cancel"
    assert recorder.seen[0].headers["idempotency-key"] == "run-1/step:compensate"


def test_an_undeclared_endpoint_or_connector_is_refused_by_name(recorder: Recorder) -> None:
    runner = rec_runner(recorder)
    try:
        with pytest.raises(PermanentError, match=r"'create_ordr'.*did you mean 'create_order'"):
            runner.call("rec", "create_ordr", {}, ctx())
        with pytest.raises(PermanentError, match="connector 'erpp' is not declared"):
            runner.call("erpp", "credit_check", {}, ctx())
        with pytest.raises(PermanentError, match="colour: not declared by the endpoint"):
            runner.call(
                "rec", "create_order", {"customer_id": "c", "amount": 1, "colour": 1}, ctx()
            )
    finally:
        runner.close()
    assert recorder.seen == []


def test_a_base_url_override_is_the_only_host_called(recorder: Recorder) -> None:
    other = Recorder().start()
    runner = rec_runner(recorder, base_urls={"rec": f"{other.url}/v2"})
    try:
        runner.call("rec", "get_order", {"order_id": "o1"}, ctx())
    finally:
        runner.close()
        other.stop()
    assert (recorder.seen, other.seen[0].path) == ([], "/v2/orders/o1")


def test_a_redirect_to_another_host_is_not_followed(recorder: Recorder) -> None:
    recorder.status, recorder.headers = 302, {"Location": "http://evil.example/steal"}
    runner = rec_runner(recorder)
    try:
        with pytest.raises(PermanentError, match=r"redirect to http://evil.example/steal"):
            runner.call("rec", "get_order", {"order_id": "o1"}, ctx())
    finally:
        runner.close()
    assert len(recorder.seen) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, TransientError),
        (429, TransientError),
        (500, TransientError),
        (422, PermanentError),
        (404, PermanentError),
        (401, PermanentError),
    ],
)
def test_statuses_map_to_transient_or_permanent_errors(
    recorder: Recorder, status: int, error: type[Exception]
) -> None:
    recorder.status = status
    recorder.answer = b'{"detail": "nope", "code": "why"}'
    runner = rec_runner(recorder)
    try:
        with pytest.raises(error, match=f"HTTP {status}: nope \\(why\\)"):
            runner.call("rec", "get_order", {"order_id": "o1"}, ctx())
    finally:
        runner.close()


def test_a_refused_connection_is_transient() -> None:
    url, stop = start_simulator("erp")
    stop()  # nothing listens on that port any more
    runner = HttpRunner(Settings(connectors={"base_urls": {"erp": url}}))
    try:
        with pytest.raises(TransientError, match="ConnectError"):
            runner.call("erp", "get_credit", {"customer_id": "acme"}, ctx())
    finally:
        runner.close()


def test_a_slow_answer_past_the_step_deadline_is_transient() -> None:
    url, stop = start_simulator("erp", latency_ms=400)
    runner = HttpRunner(Settings(connectors={"base_urls": {"erp": url}}))
    soon = datetime.now(UTC) + timedelta(milliseconds=100)
    try:
        with pytest.raises(TransientError, match=r"no answer within 0.1s"):
            runner.call("erp", "get_credit", {"customer_id": "acme"}, ctx(deadline=soon))
        with pytest.raises(TransientError, match=r"deadline .* has passed"):
            runner.call("erp", "get_credit", {"customer_id": "acme"}, ctx(deadline=soon))
    finally:
        runner.close()
        stop()


def test_a_missing_required_secret_names_the_setting(recorder: Recorder) -> None:
    runner = HttpRunner(Settings(), specs={"rec": parse_spec(SPEC.format(url=recorder.url), "r")})
    try:
        with pytest.raises(PermanentError, match="CRMOS__CONNECTORS__SECRETS__REC_TOKEN"):
            runner.call("rec", "get_order", {"order_id": "o1"}, ctx())
    finally:
        runner.close()


def test_basic_and_header_auth_take_the_secret_from_settings(recorder: Recorder) -> None:
    spec = SPEC.format(url=recorder.url)
    basic = spec.replace(
        "{type: bearer, secret: rec_token}", "{type: basic, secret: rec_token, username: u}"
    )
    header = spec.replace(
        "{type: bearer, secret: rec_token}", "{type: header, secret: rec_token, header: X-Api-Key}"
    )
    settings = Settings(connectors={"secrets": {"rec_token": "pw-98765"}})
    for text in (basic, header):
        runner = HttpRunner(settings, specs={"rec": parse_spec(text, "rec")})
        runner.call("rec", "get_order", {"order_id": "o1"}, ctx())
        runner.close()
    assert (
        recorder.seen[0].headers["authorization"]
        == "Basic " + base64.b64encode(b"u:pw-98765").decode()
    )
    assert recorder.seen[1].headers["x-api-key"] == "pw-98765"


def test_secrets_never_reach_the_logs(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    recorder.status = 500
    caplog.set_level(logging.DEBUG)
    runner = rec_runner(recorder)
    try:
        with pytest.raises(TransientError) as failure:
            runner.call("rec", "get_order", {"order_id": "tok-123456"}, ctx())
    finally:
        runner.close()
    assert recorder.seen[0].headers["authorization"] == "Bearer tok-123456"
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    assert "tok-123456" not in caplog.text
    assert "tok-123456" not in str(failure.value)


@pytest.fixture
def sims() -> Iterator[Settings]:
    urls, stop = start_simulators()
    yield Settings(connectors={"base_urls": urls})
    stop()


def sim_stats(settings: Settings, kind: str) -> dict[str, Any]:
    return dict(httpx.get(f"{settings.connectors.base_urls[kind]}/_sim/stats").json())


@pytest.mark.parametrize(
    ("action", "params", "kind"),
    [
        (ContractDraft, {"customer_id": "acme", "title": "Framework 2026", "amount": 9e5}, "erp"),
        (CreditCheck, {"customer_id": "acme", "amount": 900_000}, "erp"),
        (ReserveCapacity, {"line": "line-1", "quantity": 2000}, "mes"),
        (LockMaterial, {"material": "steel-coil", "quantity": 40}, "scm"),
    ],
)
def test_saga_actions_act_once_under_retries_and_compensate_exactly_once(
    sims: Settings, action: Any, params: dict[str, Any], kind: str
) -> None:
    step = action(sims)
    checked = action.params.model_validate(params)
    try:
        first = step.execute(ctx("run-7"), checked)
        assert step.execute(ctx("run-7"), checked) == first  # a retry of the same step
        step.compensate(ctx("run-7"), checked, first)
        step.compensate(ctx("run-7"), checked, first)
    finally:
        step.close()
    stats = sim_stats(sims, kind)
    assert stats["references"] == {"run-7": {"applied": 1, "compensated": 1, "open": 0}}
    assert (stats["replays"], stats["duplicate_side_effects"]) == (2, 0)


def test_a_credit_refusal_is_permanent_and_leaves_nothing_behind(sims: Settings) -> None:
    step = CreditCheck(sims)
    try:
        with pytest.raises(PermanentError, match="credit_limit_exceeded"):
            step.execute(
                ctx(), CreditCheck.params.model_validate({"customer_id": "globex", "amount": 1e6})
            )
    finally:
        step.close()
    assert sim_stats(sims, "erp")["side_effects"] == 0


def test_defect_lookup_attaches_the_known_defect_for_a_device(sims: Settings) -> None:
    step = DefectLookup(sims)
    try:
        found = step.execute(ctx(), DefectLookup.params.model_validate({"device_id": "dev-1001"}))
    finally:
        step.close()
    assert found["known_defect"]["defect_id"] == "D-0042"
    assert "no site visit" in found["known_defect"]["remedy"]


def test_http_call_runs_any_declared_endpoint_and_its_compensation(sims: Settings) -> None:
    step = HttpCall(sims)
    lock = {"connector": "scm", "endpoint": "lock_material"}
    given = HttpCall.params.model_validate(
        {**lock, "params": {"material": "pcb-a7", "quantity": 3, "reference": "order-9"}}
    )
    default = HttpCall.params.model_validate(
        {**lock, "params": {"material": "pcb-a7", "quantity": 1}}
    )
    try:
        result = step.execute(ctx(), given)
        step.compensate(ctx(), given, result)
        step.execute(ctx("run-2"), default)
    finally:
        step.close()
    references = sim_stats(sims, "scm")["references"]
    assert references["order-9"] == {"applied": 1, "compensated": 1, "open": 0}
    assert references["run-2"] == {"applied": 1, "compensated": 0, "open": 1}
