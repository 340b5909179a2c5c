"""Every path that writes events goes through the process's one intake, with its validators."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.core.errors import PermanentError, ValidationError
from crmos.sagas import StepContext
from tests.integration.conftest import Tenant
from tests.integration.identity_support import pid, view
from tests.polling import wait_until

BAD_CPF = "123.456.789-00"  # a wrong check digit
GOOD_CPF = "390.533.447-05"


def tag(container: Container, workspace_id: str, profile_id: str, traits: dict[str, Any]) -> None:
    """Run a playbook's ``profile.tag`` step as a saga run does."""
    action = container.runs.action("profile.tag")
    call = action.params.model_validate({"profile_id": profile_id, "params": {"traits": traits}})
    key = f"run-1/tag/{traits['cpf']}"
    ctx = StepContext("run-1", "tag", 1, key, workspace_id=workspace_id)
    action.execute(ctx, call)


def test_a_playbook_tagging_a_profile_with_an_invalid_cpf_is_refused_as_the_api_refuses_it(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    ws = tenant.workspace_id
    settings = {"validators": {"cpf": "br.cpf"}}
    put = client.put("/api/v1/compliance/settings", json=settings, headers=tenant.bearer)
    assert put.status_code == 200, put.text
    bia = {"type": "identify", "userId": "bia", "traits": {"name": "Bia"}}
    assert client.post("/v1/identify", content=orjson.dumps(bia), headers=tenant.basic).is_success
    profile_id = wait_until(lambda: pid(container, ws, "user_id", "bia"), what="bia's profile")

    refused_by_api = client.post(
        "/v1/identify",
        content=orjson.dumps(bia | {"traits": {"cpf": BAD_CPF}}),
        headers=tenant.basic,
    )
    assert refused_by_api.status_code == 400
    [api_problem] = refused_by_api.json()["problems"]
    with pytest.raises(PermanentError) as refused_by_tag:  # a saga does not retry a refusal
        tag(container, ws, profile_id, {"cpf": BAD_CPF})
    cause = refused_by_tag.value.__cause__
    assert isinstance(cause, ValidationError)
    [problem] = cause.problems
    assert (problem.reason, problem.message) == (api_problem["reason"], api_problem["message"])
    assert problem.reason == "invalid_checksum" and "CPF" in problem.message
    assert problem.path.endswith("traits.cpf")

    tag(container, ws, profile_id, {"cpf": GOOD_CPF})  # the same path lets a valid one through
    wait_until(
        lambda: view(container, ws, profile_id)["traits"].get("cpf") == GOOD_CPF,
        what="the valid CPF tagged on the profile",
    )
    history = view(container, ws, profile_id)["trait_history"]
    assert all(h["traits"].get("cpf") != BAD_CPF for h in history)
