"""The API's contract as documented: problem+json answers, the codes in docs/api.md, 405 with
Allow, refused NUL, and metrics only for the metrics token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crmos.api import create_app
from crmos.api.contract import implied_statuses
from crmos.api.problems import (
    FRAMEWORK_CODES,
    OTHER_HTTP_CODE,
    PROBLEM_JSON,
    STATUS,
    all_codes,
    error_codes,
)
from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from tests.conftest import METRICS_AUTH
from tests.integration.conftest import Tenant

DOCS = Path(__file__).parents[2] / "docs" / "api.md"
PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
    ]


def _documented_codes() -> dict[str, str]:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("<!-- error-codes")[1].split("<!-- /error-codes -->")[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([0-9]+|other) \|", table, flags=re.MULTILINE)
    return dict(rows)


def test_every_operation_declares_its_error_answers_as_problem_json(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    operations = _operations(doc)
    assert len(operations) > 70
    for label, operation in operations:
        responses = operation["responses"]
        errors = {s: r for s, r in responses.items() if s.startswith("4")}
        for status, response in errors.items():
            assert response["content"] == PROBLEM, f"{label} {status} is not problem+json"
        missing = {str(s) for s in implied_statuses(operation)} - set(errors)
        assert not missing, f"{label} lacks {missing}"
    assert doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"] == all_codes()
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_an_operation_with_a_key_declares_401_and_403_and_its_scheme(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    members = doc["paths"]["/api/v1/audiences/{audience_id}/members"]["get"]
    assert members["security"] == [{"apiKey": []}]
    assert {"400", "401", "403", "404"} <= set(members["responses"])
    assert "422" not in members["responses"]
    assert doc["paths"]["/api/v1/audiences"]["post"]["responses"]["409"]["content"] == PROBLEM
    assert doc["paths"]["/metrics"]["get"]["security"] == [{"metricsToken": []}]
    assert "403" not in doc["paths"]["/metrics"]["get"]["responses"]
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_the_documented_error_codes_are_the_error_tree_and_its_statuses() -> None:
    documented = _documented_codes()
    tree = error_codes()
    framework = {code: str(status) for status, code in FRAMEWORK_CODES.items()}
    assert set(documented) == {*tree, *framework, OTHER_HTTP_CODE}
    for code, cls in tree.items():
        status = next(status for base, status in STATUS if issubclass(cls, base))
        assert documented[code] == str(status), code
    for code, status in framework.items():
        assert documented[code] == status, code


def test_an_undeclared_method_is_a_405_problem_listing_every_method_of_the_path(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.request("TRACE", "/api/v1/audiences/aud_x", headers=tenant.bearer)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    literal = client.put("/api/v1/runs/stats", headers=tenant.bearer)
    assert literal.status_code == 405 and literal.headers["allow"] == "GET, HEAD"


def test_nul_in_the_url_or_a_json_body_is_a_400_on_every_store(
    client: TestClient, tenant: Tenant
) -> None:
    answers = [
        client.get("/api/v1/events", params={"user_id": "a\x00b"}, headers=tenant.bearer),
        client.get("/api/v1/compliance/consents/p%00q", headers=tenant.bearer),
        client.post(
            "/api/v1/compliance/holds",
            json={"profile_id": "p\x00", "reason": "GDPR Art. 17(3)(e)"},
            headers=tenant.bearer,
        ),
        client.post("/v1/track", json={"userId": "u", "event": "a\x00"}, headers=tenant.basic),
    ]
    for response in answers:
        assert response.status_code == 400, response.text
        assert response.json()["problems"][0]["reason"] == "nul_character"
    escaped = client.post(
        "/api/v1/compliance/validate",
        json={"validator": "email", "value": "\\u0000@example.com"},
        headers=tenant.bearer,
    )
    assert escaped.status_code == 200  # a backslash and "u0000" are text, not a NUL


def test_a_long_knowledge_query_with_many_distinct_terms_is_answered(
    container: Container, client: TestClient, tenant: Tenant, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "renewal.md").write_text("# Renewal\n\nOffer the two-year plan. 续约方案。\n")
    container.agent.knowledge.add_folder(tenant.workspace_id, folder)
    words = " ".join(f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(400))
    cjk = "".join(chr(0x4E00 + (i * 37) % 20000) for i in range(600))
    for query in ("renewal " + words, cjk, "x" * 2000):
        response = client.get(
            "/api/v1/knowledge/search", params={"q": query[:2000]}, headers=tenant.bearer
        )
        assert response.status_code == 200, response.text
    too_long = client.get(
        "/api/v1/knowledge/search", params={"q": "x" * 2001}, headers=tenant.bearer
    )
    assert too_long.status_code == 400


def test_an_unknown_pack_name_is_not_found_and_a_malformed_one_is_refused(
    client: TestClient, tenant: Tenant
) -> None:
    unknown = client.get("/api/v1/compliance/packs/zz_none", headers=tenant.bearer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    malformed = client.get("/api/v1/compliance/packs/GDPR!", headers=tenant.bearer)
    assert malformed.status_code == 400
    assert "pack name" in malformed.json()["problems"][0]["message"]


def test_metrics_answer_only_the_metrics_token_and_name_no_workspace_otherwise(
    client: TestClient, tenant: Tenant
) -> None:
    for headers in ({}, tenant.bearer, {"Authorization": "Bearer wrong"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON
        assert tenant.workspace_id not in response.text
    allowed = client.get("/metrics", headers=METRICS_AUTH)
    assert allowed.status_code == 200
    assert tenant.workspace_id in allowed.text


def test_metrics_are_served_to_nobody_when_no_token_is_set(store_url: str, tmp_path: Path) -> None:
    container = build(
        Settings(home=tmp_path / "bare", store={"url": store_url}), migrate_store=True
    )
    try:
        with TestClient(create_app(container)) as client:
            for headers in ({}, METRICS_AUTH):
                response = client.get("/metrics", headers=headers)
                assert response.status_code == 401
                assert "CRMOS__SERVER__METRICS_TOKEN" in response.json()["detail"]
    finally:
        container.close()


@pytest.mark.parametrize("token", ["Bearer \u00e9t\u00e9", "Basic !!", "Digest x"])
def test_a_malformed_metrics_credential_is_a_401_not_a_crash(
    client: TestClient, token: str
) -> None:
    response = client.get("/metrics", headers={"Authorization": token.encode()})
    assert response.status_code == 401
