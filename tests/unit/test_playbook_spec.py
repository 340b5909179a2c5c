"""Playbook files: validation with paths and suggestions, the published schema, content hashes,
components, experiments, and the Python form of simple CEL conditions."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmos.cli.main import app
from crmos.core.errors import PermanentError, ValidationError
from crmos.playbooks import json_schema, load_components
from crmos.playbooks.builtin import ScriptCheck, ScriptParams
from crmos.playbooks.components import Ports, Sandbox, cut
from crmos.playbooks.firing import variant_of
from crmos.playbooks.spec import parse
from crmos.triggers import Condition

RETENTION = 90 * 86_400_000
REGISTRY = load_components()
RENEWAL = files("crmos.playbooks.examples").joinpath("renewal_risk.yaml").read_text("utf-8")

BAD = """
id: Bad Id
descripton: oops
trigger:
  pattern:
    all:
      - count: {event: X, at_leest: 2, within: 3 days}
      - absent: {event: Y}
  condition: 'evnt.name == "x"'
steps:
  - {id: a, component: billing.roi_shet}
  - {id: b, component: notify.email, with: {subject: 3, txt: hi}, after: [c]}
  - {id: c, component: csm.task, with: {webhook: csm}, after: [b]}
  - {id: d, component: csm.task, with: {webhook: csm}, after: [zz]}
"""


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse(text, REGISTRY, RETENTION)
    return {p.path: p.message for p in caught.value.problems}


def test_every_problem_is_reported_at_once_with_its_yaml_path() -> None:
    problems = _problems(BAD)
    assert "did you mean 'description'?" in problems["descripton"]
    assert "description" in problems and "id" in problems
    assert "did you mean 'at_least'?" in problems["trigger.pattern.all[0].count.at_leest"]
    assert "not a duration" in problems["trigger.pattern.all[0].count.within"]
    assert "needs a window" in problems["trigger.pattern.all[1].absent.within"]
    assert "unknown variable evnt" in problems["trigger.condition"]
    assert "did you mean 'billing.roi_sheet'?" in problems["steps[0].component"]
    assert "valid string" in problems["steps[1].with.subject"]
    assert "did you mean 'text'?" in problems["steps[1].with.txt"]
    assert "cycle" in problems["steps[1].after"] and "cycle" in problems["steps[2].after"]
    assert "unknown step 'zz'" in problems["steps[3].after[0]"]


def test_invalid_yaml_is_refused_with_its_line() -> None:
    problems = _problems("id: x\nsteps: [\n")
    assert any(path.startswith("line ") for path in problems)


def test_the_published_schema_file_is_the_schema_of_the_model() -> None:
    published = files("crmos.playbooks.data").joinpath("playbook.schema.json").read_text("utf-8")
    assert json.loads(published) == json_schema()


def test_the_content_hash_ignores_formatting_and_comments_but_not_logic() -> None:
    first = parse(RENEWAL, REGISTRY, RETENTION)
    reformatted = parse(
        "# a comment\n" + RENEWAL.replace("{product: crmos", "{ product: crmos"),
        REGISTRY,
        RETENTION,
    )
    changed = parse(RENEWAL.replace("at_least: 3", "at_least: 4"), REGISTRY, RETENTION)
    assert first.hash == reformatted.hash != changed.hash


def test_steps_run_in_dependency_order() -> None:
    text = files("crmos.playbooks.examples").joinpath("insurance_renewal.yaml").read_text("utf-8")
    order = parse(text, REGISTRY, RETENTION).order
    assert order.index("rate") > order.index("claims") and order[-1] == "offer"


def test_the_experiment_split_is_deterministic_and_close_to_its_weights() -> None:
    text = RENEWAL.replace("steps:", "experiment: {variants: {a: 80, b: 20}, control: b}\nsteps:")
    playbook = parse(text, REGISTRY, RETENTION)
    variants = [variant_of(playbook, f"prf_{i}") for i in range(2000)]
    assert variants == [variant_of(playbook, f"prf_{i}") for i in range(2000)]
    assert 0.75 < variants.count("a") / 2000 < 0.85


def test_a_component_gets_only_the_fields_it_declares() -> None:
    profile = {"id": "p1", "traits": {"email": "a@b.c", "phone": "+49"}, "flags": {"x": True}}
    assert cut(profile, ("traits.email", "traits.missing")) == {
        "id": "p1",
        "traits": {"email": "a@b.c"},
    }


def test_builtin_components_are_registered_through_entry_points() -> None:
    assert {
        "billing.roi_sheet", "csm.task", "sales.alert_card", "notify.email", "profile.tag",
        "compliance.script_check", "service.ticket", "insurance.claims_history",
        "insurance.rate_factor", "insurance.agent_qualification",
    } <= set(REGISTRY.names())  # fmt: skip


VALUES = st.one_of(
    st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.sampled_from(["a", "b", ""]),
    st.booleans(), st.none(), st.lists(st.integers(0, 2), max_size=2),
)  # fmt: skip
SOURCES = [
    'event.properties.x == "a"',
    "event.properties.x != 3",
    "event.properties.x >= 2",
    "event.properties.x < 1.5",
    'event.properties.x in ["a", "b"] && traits.y == true',
    "traits.y == false && event.properties.x > -1",
]


@settings(max_examples=300, deadline=None)
@given(x=st.one_of(VALUES, st.just("missing")), y=VALUES, source=st.sampled_from(SOURCES))
def test_the_python_form_of_a_condition_agrees_with_cel(x: Any, y: Any, source: str) -> None:
    props = {} if x == "missing" else {"x": x}
    activation = {"event": {"properties": props}, "traits": {"y": y}}
    condition = Condition.compile(source)
    assert condition.fast is not None
    try:
        expected = condition.program.execute(activation) is True
    except (KeyError, TypeError, ValueError, RuntimeError):
        expected = False
    assert condition.evaluate(activation) == expected


def _sandbox(component: Any, traits: dict[str, Any]) -> Any:
    refused: list[Any] = []
    ports = Ports(profile=lambda ws, pid: {}, action=lambda name: None, refused=refused.append)
    return Sandbox(component, None, {"id": "p1", "traits": traits}, ports), refused


def test_the_script_check_refuses_a_regions_forbidden_words() -> None:
    check = ScriptCheck()
    sandbox, _ = _sandbox(check, {"country": "DE"})
    assert check.run(sandbox, ScriptParams(script="Ihre Prämie steigt um 3 %."))["region"] == "DE"
    with pytest.raises(PermanentError, match="risikofrei"):
        check.run(sandbox, ScriptParams(script="Völlig RISIKOFREI!"))
    cn, _ = _sandbox(check, {"country": "CN"})
    with pytest.raises(PermanentError, match="保本"):
        check.run(cn, ScriptParams(script="这个产品保本"))


def test_the_cli_validate_lists_every_problem_and_exits_65(tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, "utf-8")
    result = CliRunner().invoke(app, ["playbooks", "validate", str(bad), "--json"])
    assert result.exit_code == 65
    [report] = json.loads(result.stdout)
    paths = {p["path"] for p in report["problems"]}
    assert {"steps[0].component", "trigger.condition", "steps[1].with.txt"} <= paths


def test_graph_facts_are_fetched_only_for_playbooks_whose_conditions_mention_the_graph() -> None:
    from crmos.playbooks.trigger_consumer import reads_graph

    assert not reads_graph(parse(RENEWAL, REGISTRY, RETENTION))
    audience = RENEWAL.replace("steps:", "audience: 'graph.scores.buyer > 0.5'\nsteps:", 1)
    assert reads_graph(parse(audience, REGISTRY, RETENTION))
    where = RENEWAL.replace('== "/renewal/compare"', '== "/renewal/compare" && size(graph) > 0')
    assert reads_graph(parse(where, REGISTRY, RETENTION))
