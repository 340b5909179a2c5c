"""The builder's model of a playbook: YAML -> model -> YAML gives back the same data (over
generated files, invalid ones included, and every shipped example), a canvas built node by node
writes the file a person would write, and a drawing that is not one playbook is refused with
the node at fault."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crmos.core.errors import ValidationError
from crmos.playbooks.canvas import Model, from_source, node_of, to_data, to_source
from crmos.playbooks.service import examples

NAMES = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
SCALARS = st.one_of(st.integers(-1000, 1000), st.booleans(), st.text(max_size=12), st.none(), NAMES)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=6,
)
SELECTOR = st.fixed_dictionaries(
    {},
    optional={
        "event": NAMES,
        "type": st.sampled_from(["track", "page", "identify"]),
        "where": st.just('event.properties.path == "/renewal"'),
    },
)
WINDOW = st.sampled_from(["3d", "12h", "30m", "2w", "bogus"])


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    count = SELECTOR.flatmap(
        lambda s: st.fixed_dictionaries({"at_least": st.integers(1, 5), "within": WINDOW}).map(
            lambda extra: {**s, **extra}
        )
    )
    absent = SELECTOR.flatmap(lambda s: WINDOW.map(lambda w: {**s, "within": w}))
    sequence = st.fixed_dictionaries({"steps": st.lists(SELECTOR, max_size=3), "within": WINDOW})
    return st.one_of(
        SELECTOR.map(lambda s: {"event": s}),
        count.map(lambda c: {"count": c}),
        absent.map(lambda a: {"absent": a}),
        sequence.map(lambda s: {"sequence": s}),
        VALUES,  # malformed: kept verbatim
    )


PATTERNS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda ps: {"all": ps}),
        st.lists(inner, max_size=3).map(lambda ps: {"any": ps}),
        st.tuples(inner, WINDOW, NAMES).map(
            lambda t: {"absent": {"event": t[2], "within": t[1], "after": t[0]}}
        ),
    ),
    max_leaves=6,
)


@st.composite
def steps(draw: st.DrawFn) -> list[Any]:
    ids = draw(st.lists(NAMES, min_size=1, max_size=5))  # duplicates on purpose, sometimes
    out: list[Any] = []
    for i, step_id in enumerate(ids):
        step: dict[str, Any] = {"id": step_id, "component": draw(NAMES)}
        if draw(st.booleans()):
            step["with"] = draw(st.dictionaries(NAMES, VALUES, max_size=3))
        if draw(st.booleans()):
            step["compensate"] = draw(st.booleans() | st.just({"component": "x.undo"}))
        if i and draw(st.booleans()):
            earlier = st.sampled_from(ids[:i])
            step["after"] = draw(st.lists(earlier | NAMES, max_size=3) | SCALARS)
        out.append(step)
    if draw(st.integers(0, 9)) == 0:
        out.append(draw(SCALARS))  # not a mapping: kept verbatim
    return out


@st.composite
def playbooks(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"id": draw(NAMES), "description": draw(st.text(max_size=20))}
    trigger: dict[str, Any] = {"pattern": draw(PATTERNS)}
    if draw(st.booleans()):
        trigger["condition"] = draw(st.just("traits.plan == 'gold'") | st.none())
    if draw(st.integers(0, 5)) == 0:
        trigger["extra"] = draw(VALUES)
    data["trigger"] = draw(st.just(trigger) | st.just(trigger) | VALUES)
    optional = {
        "audience": st.just("flags.marketing_suppressed == false") | SCALARS,
        "consent": NAMES,
        "approval": st.just({"policy": "required_above", "impact": "low"}) | SCALARS,
        "experiment": st.just({"variants": {"a": 90, "b": 10}, "control": "b"}) | SCALARS,
        "unknown_key": VALUES,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            data[key] = draw(strategy)
    data["steps"] = draw(steps() | st.just([]) | SCALARS)
    return data


def _round_trip(text: str) -> str:
    """YAML -> model -> JSON (as the console holds it) -> model -> YAML."""
    posted = json.loads(json.dumps(from_source(text).as_dict()))
    return to_source(Model.from_dict(posted))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(playbooks())
def test_yaml_to_model_to_yaml_gives_back_the_same_playbook(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    # PyYAML itself does not give back every string (a lone NEL, U+0085, loads as a space):
    # only data YAML can hold says anything about the builder.
    assume(yaml.safe_load(text) == data)
    assert yaml.safe_load(_round_trip(text)) == data


@pytest.mark.parametrize("name", sorted(examples()))
def test_every_shipped_example_survives_the_builder_with_its_comment(name: str) -> None:
    text = examples()[name]
    again = _round_trip(text)
    assert yaml.safe_load(again) == yaml.safe_load(text)
    assert again.startswith(text.split("\n", 1)[0])
    assert _round_trip(again) == again  # a second trip changes not even the formatting


def _scenario_one_drawn() -> Model:
    """Scenario 1 as a person builds it: nodes dropped in any order, then connected."""
    nodes = [
        {"id": "a", "kind": "step", "params": {"id": "csm_task", "component": "csm.task"}},
        {"id": "b", "kind": "all", "params": {}},
        {"id": "c", "kind": "count", "params": {"type": "page", "at_least": 3, "within": "3d"}},
        {"id": "d", "kind": "absent", "params": {"event": "Renewal Form Submitted"}},
        {"id": "e", "kind": "step", "params": {"id": "roi", "component": "billing.roi_sheet"}},
    ]
    edges = [("c", "b"), ("d", "b"), ("b", "e"), ("e", "a")]
    header = {"id": "renewal-risk", "description": "Renewal at risk"}
    return Model.from_dict(
        {
            "header": header,
            "nodes": nodes,
            "edges": [{"source": s, "target": t} for s, t in edges],
        }
    )


def test_a_canvas_built_node_by_node_writes_the_file_a_person_would_write() -> None:
    rendered = to_data(_scenario_one_drawn())
    assert rendered.data == {
        "id": "renewal-risk",
        "description": "Renewal at risk",
        "trigger": {
            "pattern": {
                "all": [
                    {"count": {"type": "page", "at_least": 3, "within": "3d"}},
                    {"absent": {"event": "Renewal Form Submitted"}},
                ]
            }
        },
        "steps": [
            {"id": "csm_task", "component": "csm.task", "after": ["roi"]},
            {"id": "roi", "component": "billing.roi_sheet"},
        ],
    }
    assert rendered.paths["d"] == "trigger.pattern.all[1].absent"
    assert node_of("trigger.pattern.all[1].absent.within", rendered.paths) == "d"
    assert node_of("steps[1].with.months", rendered.paths) == "e"
    assert node_of("steps[10].id", rendered.paths) is None
    assert node_of("description", rendered.paths) is None


def test_a_wait_drawn_after_a_trigger_becomes_an_absence_with_after() -> None:
    model = Model.from_dict(
        {
            "header": {"id": "x"},
            "nodes": [
                {"id": "t", "kind": "event", "params": {"event": "Trial Started"}},
                {"id": "w", "kind": "wait", "params": {"event": "Paid", "within": "7d"}},
            ],
            "edges": [{"source": "t", "target": "w"}],
        }
    )
    pattern = to_data(model).data["trigger"]["pattern"]
    assert pattern == {
        "absent": {"event": "Paid", "within": "7d", "after": {"event": {"event": "Trial Started"}}}
    }


def test_two_unconnected_triggers_are_refused_naming_the_loose_node() -> None:
    model = Model.from_dict(
        {
            "header": {"id": "x"},
            "nodes": [
                {"id": "t1", "kind": "event", "params": {"event": "A"}},
                {"id": "t2", "kind": "event", "params": {"event": "B"}},
                {"id": "a1", "kind": "audience", "params": {"cel": "true"}},
                {"id": "a2", "kind": "audience", "params": {"cel": "false"}},
            ],
            "edges": [],
        }
    )
    with pytest.raises(ValidationError) as caught:
        to_data(model)
    assert {p.path for p in caught.value.problems} == {"t2", "a2"}


def test_a_file_that_is_not_a_mapping_cannot_be_drawn() -> None:
    with pytest.raises(ValidationError) as caught:
        from_source("- just\n- a list\n")
    assert caught.value.problems[0].path == "(file)"
