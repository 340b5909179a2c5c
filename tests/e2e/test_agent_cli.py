"""``crmos interactions``, ``crmos knowledge``, ``crmos decisions`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import run_cli as run


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CRMOS__HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRMOS__STORE__URL", f"sqlite:///{tmp_path}/crmos.db")
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_classify_prints_intent_sentiment_and_entities_as_json(cli: CliRunner) -> None:
    data = json.loads(run(cli, "interactions", "classify", "我们想续约，预算人民币8万元", "--json"))
    assert data["intent"]["name"] == "renewal_interest" and data["language"] == "zh"
    assert data["entities"][0]["value"] == "80000.00 CNY"


def test_a_user_adds_knowledge_and_a_transcript_then_explains_the_decision(
    cli: CliRunner, tmp_path: Path
) -> None:
    run(cli, "workspace", "create", "acme")
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "talk.md").write_text(
        "When a customer wants to renew, offer the two-year plan.\n", "utf-8"
    )
    assert "added 1 document(s)" in run(cli, "knowledge", "add", str(kb))
    transcript = tmp_path / "call.vtt"
    transcript.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Ann>We want to renew for another year.\n",
        encoding="utf-8",
    )
    item = json.loads(
        run(
            cli,
            "interactions",
            "add",
            str(transcript),
            "--sender-email",
            "ann@example.com",
            "--json",
        )
    )
    assert item["tags"]["intent"] == "renewal_interest" and item["profile_id"]
    rec = item["recommendations"][0]
    explained = run(cli, "decisions", "explain", rec["decision_id"])
    assert "crmos.agent.nba" in explained and "talk.md p.1" in explained
    assert rec["decision_id"] in run(cli, "decisions", "list", "--profile", item["profile_id"])


def test_a_pending_recommendation_is_approved_from_the_command_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    run(cli, "workspace", "create", "acme")
    mail = tmp_path / "m.eml"
    mail.write_text(
        "From: cfo@example.com\nSubject: churn\n\nWe will cancel at the end of the term.\n", "utf-8"
    )
    item = json.loads(run(cli, "interactions", "add", str(mail), "--json"))
    rec = item["recommendations"][0]
    assert rec["status"] == "pending"
    assert "approved by Maria" in run(
        cli, "interactions", "approve", rec["id"], "--approver", "Maria"
    )
    assert "already" not in run(cli, "interactions", "recommendations", "--status", "approved")
    again = run(cli, "interactions", "approve", rec["id"], "--approver", "Maria", code=73)
    assert "only pending" in again


def test_a_file_that_cannot_be_read_is_kept_and_reported(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "workspace", "create", "acme")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 nothing")
    out = run(cli, "interactions", "add", str(broken))
    assert "unreadable" in out and "PDF" in out
    assert "unreadable" in run(cli, "interactions", "list")
