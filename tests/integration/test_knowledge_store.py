"""The knowledge base on SQLite (FTS5) and PostgreSQL (full text): passages with source and
position, re-adding unchanged files, replacing changed ones, workspace isolation."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from crmos.agent.datasets.pdf import text_pdf
from crmos.bootstrap import Container
from tests.integration.conftest import Tenant


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    (folder / "zh").mkdir(parents=True)
    (folder / "pricing.md").write_text(
        "# Pricing\n\nThe enterprise plan costs 40 USD per seat per month.\n\n"
        "# Discounts\n\nA two-year renewal earns a 5% loyalty discount.\n",
        encoding="utf-8",
    )
    (folder / "zh" / "售后.txt").write_text(
        "设备故障时，工程师24小时内上门维修。\n\n投诉由客户成功经理回电。", encoding="utf-8"
    )
    (folder / "msa.pdf").write_bytes(
        text_pdf(["Master agreement", "Liability is capped at the annual fees."])
    )
    (folder / "logo.png").write_bytes(b"\x89PNG")
    return folder


def test_passages_come_back_with_their_source_page_and_span(
    container: Container, tenant: Tenant, tmp_path: Path
) -> None:
    kb = container.agent.knowledge
    report = kb.add_folder(tenant.workspace_id, _folder(tmp_path))
    assert (report.added, report.unchanged) == (3, 0)
    assert report.skipped == [
        ("logo.png", "unsupported type '.png' (use .pdf, .md, .txt, .markdown, .rst, .html, .htm)")
    ]
    (hit, *_) = kb.search(tenant.workspace_id, "loyalty discount for renewals")
    assert (hit.source, hit.page) == ("pricing.md", 1)
    page = (tmp_path / "kb" / "pricing.md").read_text(encoding="utf-8")
    assert page[hit.start : hit.end] == hit.text and "loyalty" in hit.text
    (zh, *_) = kb.search(tenant.workspace_id, "客户投诉怎么处理")
    assert zh.source == "zh/售后.txt"
    (pdf, *_) = kb.search(tenant.workspace_id, "liability cap")
    assert (pdf.source, pdf.page) == ("msa.pdf", 2)


def test_re_adding_skips_unchanged_files_and_replaces_changed_ones(
    container: Container, tenant: Tenant, tmp_path: Path
) -> None:
    kb = container.agent.knowledge
    folder = _folder(tmp_path)
    kb.add_folder(tenant.workspace_id, folder)
    assert kb.add_folder(tenant.workspace_id, folder).unchanged == 3
    (folder / "pricing.md").write_text(
        "# Pricing\n\nAll plans now include onboarding.\n", encoding="utf-8"
    )
    assert kb.add_folder(tenant.workspace_id, folder).added == 1
    assert kb.search(tenant.workspace_id, "loyalty discount") == []
    assert kb.search(tenant.workspace_id, "onboarding")[0].source == "pricing.md"


def test_another_workspace_finds_nothing_and_the_api_searches_the_callers_own(
    container: Container, client: TestClient, tenant: Tenant, tmp_path: Path
) -> None:
    container.agent.knowledge.add_folder(tenant.workspace_id, _folder(tmp_path))
    assert container.agent.knowledge.search("ws_other", "loyalty discount") == []
    response = client.get(
        "/api/v1/knowledge/search", headers=tenant.bearer, params={"q": "seat price"}
    )
    assert response.json()["data"][0]["source"] == "pricing.md"
