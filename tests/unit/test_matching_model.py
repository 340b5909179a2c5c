"""Batch matching's pure model: column kinds, comparisons, blocking rules, settings files."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmos.core.errors import ValidationError
from crmos.identity.matching.frames import safe_names
from crmos.identity.matching.model import (
    BlockingRule,
    ColumnProfile,
    ColumnRole,
    candidate_rules,
    comparisons_for,
    date_format,
    infer_plan,
    kind_from_name,
)
from crmos.identity.matching.overrides import apply_overrides, load_overrides

NAMES = ["ann", "bob", "cy", "dee", "eve", "fay"]


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("given_name", "forename"),
        ("firstName", "forename"),
        ("surname", "surname"),
        ("Last Name", "surname"),
        ("customer_name", "name"),
        ("date_of_birth", "date"),
        ("DOB", "date"),
        ("street_number", "house_number"),
        ("address_1", "address"),
        ("address_city", "locality"),
        ("address_postal_code", "postcode"),
        ("zip", "postcode"),
        ("state", "region"),
        ("Email", "email"),
        ("phone_no", "phone"),
        ("soc_sec_id", "identifier"),
        ("gender", "category"),
        ("出生日期", "date"),
        ("姓名", "name"),
        ("姓", "surname"),
        ("名", "forename"),
        ("手机号", "phone"),
        ("邮编", "postcode"),
        ("username", None),
        ("notes", None),
    ],
)
def test_column_names_say_what_a_column_holds(column: str, kind: str | None) -> None:
    assert kind_from_name(column) == kind


def test_values_reveal_email_phone_and_date_columns_whose_names_say_nothing() -> None:
    profiles = [
        ColumnProfile("c1", tuple(f"{n}@example.com" for n in NAMES)),
        ColumnProfile("c2", tuple(f"+49 30 1234 56{i}" for i in range(6))),
        ColumnProfile("c3", tuple(f"1980-01-0{i}" for i in range(1, 7))),
        ColumnProfile("c4", tuple(NAMES)),
    ]
    plan = infer_plan(profiles, "id")
    assert {r.column: r.kind for r in plan.roles} == {"c1": "email", "c2": "phone", "c3": "date"}
    assert plan.role("c3") == ColumnRole("c3", "date", "values look like date", ("%Y-%m-%d",))
    assert dict(plan.ignored)["c4"] == "no name or value pattern of a comparable field"


def test_a_date_column_gets_its_format_or_is_set_aside_with_the_reason() -> None:
    assert date_format(["31/12/1999", "01/02/2000"]) == "%d/%m/%Y"
    assert date_format(["19991231", "20000201"]) == "%Y%m%d"
    plan = infer_plan([ColumnProfile("birth_date", ("soon", "later", "never"))], "id")
    assert not plan.roles
    assert "no value matches %Y-%m-%d" in dict(plan.ignored)["birth_date"]


def test_each_file_may_write_its_dates_its_own_way() -> None:
    iso = tuple(f"1980-0{m}-1{d}" for m in range(1, 4) for d in range(3))
    dmy = tuple(f"1{d}/0{m}/1980" for m in range(1, 4) for d in range(3))
    plan = infer_plan([ColumnProfile("dob", iso + dmy, parts=(iso, dmy))], "id")
    assert plan.roles[0].date_formats == ("%Y-%m-%d", "%d/%m/%Y")
    assert plan.roles[0].date_format_of(1) == "%d/%m/%Y"
    mixed = infer_plan([ColumnProfile("dob", iso + dmy)], "id")
    assert not mixed.roles


def test_the_id_column_is_never_compared() -> None:
    plan = infer_plan([ColumnProfile("customer_id", ("1", "2"))], "customer_id")
    assert not plan.roles and not plan.ignored


def test_locality_region_and_further_address_lines_are_set_aside_beside_a_postcode() -> None:
    sample = ("a", "b")
    profiles = [ColumnProfile(c, sample) for c in ("address_1", "address_2", "suburb", "state")]
    profiles.append(ColumnProfile("postcode", ("2000", "2001")))
    plan = infer_plan(profiles, "id")
    assert [r.column for r in plan.roles] == ["address_1", "postcode"]
    assert set(dict(plan.ignored)) == {"address_2", "suburb", "state"}


def test_names_and_address_parts_become_one_comparison_each() -> None:
    roles = [
        ColumnRole("first", "forename", ""),
        ColumnRole("last", "surname", ""),
        ColumnRole("no", "house_number", ""),
        ColumnRole("street", "address", ""),
        ColumnRole("zip", "postcode", ""),
        ColumnRole("dob", "date", "", ("%Y-%m-%d",)),
    ]
    found = {c.name: (c.kind, c.columns) for c in comparisons_for(roles)}
    assert found == {
        "first_last": ("person_name", ("first", "last")),
        "address": ("address", ("no", "street", "zip")),
        "dob": ("date", ("dob",)),
    }


def test_blocking_candidates_start_with_names_and_cross_swapped_names() -> None:
    roles = [
        ColumnRole("first", "forename", ""),
        ColumnRole("last", "surname", ""),
        ColumnRole("dob", "date", ""),
    ]
    rules = candidate_rules(roles)
    assert [r.label for r in rules] == ["first + last", "first + last (crossed)", "dob"]
    assert rules[1].sql() == "l.first = r.last and l.last = r.first"
    narrowed = BlockingRule(("zip",), ("zip",)).refined("substr(last, 1, 1)", "last")
    assert narrowed.sql() == "l.zip = r.zip and substr(l.last, 1, 1) = substr(r.last, 1, 1)"


def test_header_names_become_unique_sql_identifiers() -> None:
    assert safe_names(["First Name", "first-name", "2nd", "id", "Order", "姓名"]) == {
        "First Name": "first_name",
        "first-name": "first_name_2",
        "2nd": "c_2nd",
        "id": "id",
        "Order": "order_",
        "姓名": "col",
    }


def test_a_settings_file_sets_kinds_ignores_columns_and_replaces_blocking(
    tmp_path: Path,
) -> None:
    path = tmp_path / "match.yaml"
    path.write_text(
        "columns: {nick: forename, dob: ignore}\nblocking_rules: [[nick]]\nthreshold: 0.7\n"
    )
    overrides = load_overrides(path)
    plan = infer_plan([ColumnProfile("dob", ("1980-01-01",) * 5)], "id")
    names = {"nick": "nick", "dob": "dob"}
    changed = apply_overrides(plan, overrides, names, {"nick": NAMES})
    assert [(r.column, r.kind) for r in changed.roles] == [("nick", "forename")]
    assert dict(changed.ignored)["dob"] == "ignored by the settings file"
    assert [r.label for r in changed.blocking] == ["nick"]
    assert overrides.threshold == 0.7


def test_a_bad_settings_file_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "match.json"
    path.write_text('{"threshold": 3, "colour": "red"}')
    with pytest.raises(ValidationError) as caught:
        load_overrides(path)
    assert {p.path for p in caught.value.problems} == {"threshold", "colour"}
    path.write_text('{"columns": {"nick": "nickname", "x": "date"}}')
    with pytest.raises(ValidationError, match="unknown kind 'nickname'; use one of: forename"):
        load_overrides(path)


def test_a_settings_file_naming_missing_columns_says_which_exist(tmp_path: Path) -> None:
    path = tmp_path / "match.yaml"
    path.write_text("columns: {nick: forename}\nblocking_rules: [[town]]\n")
    plan = infer_plan([ColumnProfile("name", tuple(NAMES))], "id")
    with pytest.raises(ValidationError) as caught:
        apply_overrides(plan, load_overrides(path), {"name": "name"}, {})
    messages = {p.path: p.message for p in caught.value.problems}
    assert messages["columns.nick"] == "no such column; columns are: name"
    assert messages["blocking_rules[0]"].startswith("unknown column(s) town")
