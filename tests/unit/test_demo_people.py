"""The demo world's people as CRM sources record them: households, namesakes, noisy copies."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from crmos.demo.personal import recorded, typo
from crmos.demo.world import World, generate

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(now=NOW)


def identifies(world: World, touchpoint: str) -> list[dict[str, Any]]:
    return [
        e
        for e in world.events
        if e["type"] == "identify" and e["context"]["touchpoint"] == touchpoint
    ]


def test_households_share_a_home_but_never_a_first_name(world: World) -> None:
    homes: dict[str, list[Any]] = defaultdict(list)
    for person in world.people:
        homes[person.household].append(person)
    shared = [members for members in homes.values() if len(members) > 1]
    assert len(shared) >= 5
    for members in shared:
        assert len({m.home for m in members}) == 1
        assert len({m.given for m in members}) == len(members)


def test_different_people_share_names_the_hard_case_for_matching(world: World) -> None:
    names = Counter((p.given, p.family) for p in world.people)
    assert any(n > 1 for n in names.values())


def test_every_touchpoint_tells_who_someone_is_with_its_own_habits(world: World) -> None:
    for touchpoint in ("pos", "call_centre", "wechat", "app", "web", "email"):
        traits = [e["traits"] for e in identifies(world, touchpoint)]
        assert traits, touchpoint
        assert any("lastName" in t for t in traits), touchpoint
    pos = [e["traits"] for e in identifies(world, "pos")]
    web = [e["traits"] for e in identifies(world, "web")]
    with_birthday = sum("birthday" in t for t in pos) / len(pos)
    assert with_birthday > 0.7 > sum("birthday" in t for t in web) / len(web)
    assert any("postalCode" in t.get("address", {}) for t in pos)


def test_sources_disagree_with_the_truth_now_and_then(world: World) -> None:
    people = {p.email: p for p in world.people}
    wrong = total = 0
    for event in world.events:
        traits = event.get("traits", {})
        person = people.get(traits.get("email", ""))
        if event["type"] == "identify" and person and "firstName" in traits:
            total += 1
            wrong += traits["firstName"] != person.given
    assert 0 < wrong < total * 0.2


def test_a_typo_changes_a_word_but_keeps_it_recognisable() -> None:
    rng = random.Random(1)
    slips = {typo(rng, "Katharina") for _ in range(30)}
    assert "Katharina" not in slips and all(abs(len(s) - 9) <= 1 for s in slips)
    assert typo(rng, "王伟") == "汪伟"


def test_recorded_traits_use_segment_names(world: World) -> None:
    rng = random.Random(3)
    person = world.people[0]
    traits = recorded(rng, "app", person)
    assert set(traits) <= {"firstName", "lastName", "name", "birthday", "address"}
    assert set(traits.get("address", {})) <= {"postalCode", "city", "street", "country"}
