"""Rule files, node ids and score decay: the graph's pure parts."""

from __future__ import annotations

import pytest

from crmos.core.errors import ValidationError
from crmos.graph import load_rules, node_id, parse_rules
from crmos.graph.model import kind_of, ordered
from crmos.graph.rulebook import _needs_full
from crmos.graph.scores import decayed

BAD = """
rules:
  - id: Not-Snake
    kind: role
    when: "true"
    params: {role: r, step: 0.1, half_life_days: 1,
             dwell: {when: "true", seconds: "1.0", over: 1}, repeat: {when: "true", at_least: 1}}
  - id: broken_cel
    kind: co_attendance
    when: "event.name =="
    params: {occasion: "event.properties.("}
  - id: bad_params
    kind: account_signal
    when: "true"
    params: {account: x, weight: -1, colour: red}
"""


def test_the_shipped_rules_load_and_compile() -> None:
    rules = {r.id: r for r in load_rules()}
    assert set(rules) == {"co_attendance", "funding_partnership", "technical_decision_maker"}
    assert rules["technical_decision_maker"].params.step == pytest.approx(0.37)


def test_a_rule_file_with_errors_lists_every_error_with_its_yaml_path() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rules(BAD, "f.yaml")
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == [
        "f.yaml:rules[0].id",
        "f.yaml:rules[1].params.occasion",
        "f.yaml:rules[1].when",
        "f.yaml:rules[2].params.colour",
        "f.yaml:rules[2].params.weight",
    ]


def test_a_rule_file_that_is_not_a_rules_mapping_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rules("- just a list", "g.yaml")
    assert caught.value.problems[0].path == "g.yaml:rules"


def test_disabled_rules_are_left_out() -> None:
    assert "co_attendance" not in {r.id for r in load_rules(disabled=["co_attendance"])}


def test_node_ids_carry_their_kind_and_symmetric_edges_have_one_direction() -> None:
    assert node_id("account", " acme ") == "account:acme"
    assert kind_of("device:ios-1") == "device"
    with pytest.raises(ValidationError):
        kind_of("planet:mars")
    assert ordered("account:b", "potential_partner", "account:a") == ("account:a", "account:b")
    assert ordered("profile:b", "works_at", "account:a") == ("profile:b", "account:a")


def test_only_rules_reading_context_or_traits_get_the_full_event() -> None:
    assert not _needs_full('event.name == "x" && event.properties.a > 1')
    assert _needs_full("event.context.device.id == 'x'")
    assert _needs_full("size(event) > 3")


def test_a_confidence_halves_every_half_life() -> None:
    day = 86_400_000
    assert decayed(0.8, 0, 30 * day, 30 * day) == pytest.approx(0.4)
    assert decayed(0.8, 10, 5, day) == pytest.approx(0.8)  # never grows backwards in time


def test_the_shipped_co_attendance_edges_last_thirty_days() -> None:
    rules = {r.id: r for r in load_rules()}
    assert rules["co_attendance"].params.valid_days == 30
    assert rules["funding_partnership"].params.valid_days is None  # until someone ends it


def test_a_rule_may_not_write_the_edge_types_the_graph_writes_itself() -> None:
    text = """
rules:
  - id: sneaky
    kind: co_attendance
    when: "true"
    params: {occasion: "event.properties.o", edge: attended, valid_days: 0}
"""
    with pytest.raises(ValidationError) as caught:
        parse_rules(text, "s.yaml")
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == ["s.yaml:rules[0].params.edge", "s.yaml:rules[0].params.valid_days"]
    assert "written by the graph itself" in " ".join(p.message for p in caught.value.problems)
