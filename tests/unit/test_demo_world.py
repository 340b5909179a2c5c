"""The demo world generator: deterministic, Segment-shaped, with every scenario story in it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmos.demo.world import TOUCHPOINTS, World, generate, scenario_of

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MESSAGE_ID = re.compile(r"^demo-[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TYPES = {"identify", "track", "page", "screen", "group", "alias"}


@pytest.fixture(scope="module")
def world() -> World:
    return generate(now=NOW)


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))


def owners(world: World) -> dict[str, set[str]]:
    """Identifier value -> the people it belongs to, from the ground truth."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in world.ground_truth():
        found[row["identifier_value"]].add(row["person_id"])
    return found


def who(world: World, event: dict[str, Any]) -> set[str]:
    """The people an event's userId or anonymousId belongs to."""
    found = owners(world)
    keys = (event.get("userId"), event.get("anonymousId"))
    return set().union(*(found[key] for key in keys if key))


def story(world: World, number: int, name: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in world.events
        if scenario_of(e) == number and (name is None or name in (e.get("event"), e.get("name")))
    ]


def cpf_is_valid(cpf: str) -> bool:
    digits = [int(c) for c in cpf if c.isdigit()]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        if digits[size] != (0 if total % 11 < 2 else 11 - total % 11):
            return False
    return len(digits) == 11


def test_the_same_seed_gives_the_same_events(world: World) -> None:
    assert generate(now=NOW).events == world.events


def test_a_different_seed_gives_different_events(world: World) -> None:
    other = generate(seed=8, now=NOW)
    assert {e["messageId"] for e in other.events}.isdisjoint(e["messageId"] for e in world.events)
    assert [p.name for p in other.people] != [p.name for p in world.people]


def test_the_world_does_not_depend_on_the_interpreter_hash_seed() -> None:
    script = (
        "import hashlib, json; from datetime import datetime, UTC; "
        "from crmos.demo.world import generate; "
        "w = generate(people=20, companies=3, days=14, now=datetime(2026, 3, 1, tzinfo=UTC)); "
        "print(hashlib.sha256(json.dumps(w.events, sort_keys=True).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_the_default_world_is_big_enough() -> None:
    # How fast it generates is a figure for a benchmark, not an assertion: a wall-clock limit
    # failed here at load 20 (3-9 s against 2 s) with nothing wrong.
    events = generate(now=NOW).events
    assert 15_000 <= len(events) <= 30_000


def test_every_event_has_the_fields_its_segment_type_requires(world: World) -> None:
    for event in world.events:
        assert event["type"] in TYPES, event
        assert event.get("userId") or event.get("anonymousId"), event
        if event["type"] == "track":
            assert event["event"] and isinstance(event["properties"], dict), event
        if event["type"] in ("page", "screen"):
            assert event["name"] and isinstance(event["properties"], dict), event
        if event["type"] == "identify":
            assert isinstance(event["traits"], dict), event
        if event["type"] == "group":
            assert event["groupId"] and event["traits"]["name"], event
        if event["type"] == "alias":
            assert event["previousId"] and event["userId"], event


def test_every_event_carries_segment_context_and_a_known_touchpoint(world: World) -> None:
    for event in world.events:
        context = event["context"]
        assert context["touchpoint"] in TOUCHPOINTS, event
        assert context["library"]["name"] and context["library"]["version"], event
        assert context["locale"], event
        if context["touchpoint"] == "web":
            assert context["ip"], event
        if context["touchpoint"] == "app":
            assert context["device"]["id"] == event["anonymousId"], event
            assert context["device"]["type"] in ("ios", "android"), event


def test_every_type_and_touchpoint_occurs(world: World) -> None:
    assert set(Counter(e["type"] for e in world.events)) == TYPES
    assert set(Counter(e["context"]["touchpoint"] for e in world.events)) == set(TOUCHPOINTS)


def test_message_ids_are_unique_and_well_formed(world: World) -> None:
    ids = [e["messageId"] for e in world.events]
    assert len(set(ids)) == len(ids)
    assert all(MESSAGE_ID.match(i) for i in ids)


def test_events_are_sorted_and_inside_the_window(world: World) -> None:
    stamps = [e["timestamp"] for e in world.events]
    assert all(TIMESTAMP.match(s) for s in stamps)
    assert stamps == sorted(stamps)
    assert NOW - timedelta(days=90) <= when(world.events[0])
    assert when(world.events[-1]) <= NOW


def test_events_are_plain_json_with_no_shared_mutable_parts(world: World) -> None:
    json.dumps(world.events)
    properties = [id(e["properties"]) for e in world.events if "properties" in e]
    assert len(set(properties)) == len(properties)


def test_ground_truth_covers_every_person_with_their_identifiers(world: World) -> None:
    rows = world.ground_truth()
    assert {r["person_id"] for r in rows} == {p.id for p in world.people}
    assert {r["touchpoint"] for r in rows} <= set(TOUCHPOINTS)
    people = {p.id: p for p in world.people}
    for row in rows:
        person = people[row["person_id"]]
        assert getattr(person, row["identifier_type"]) == row["identifier_value"]
        assert row["company_id"] == person.company_id


def test_each_identifier_belongs_to_one_person_except_the_shared_phone(world: World) -> None:
    shared = {e["traits"]["phone"] for e in story(world, 6) if e["type"] == "identify"}
    assert len(shared) == 1
    for value, people in owners(world).items():
        assert len(people) == (3 if value in shared else 1), value


def test_every_identifier_in_an_event_is_in_the_ground_truth(world: World) -> None:
    known = owners(world)
    for event in world.events:
        for key in ("userId", "anonymousId", "previousId"):
            assert key not in event or event[key] in known, event


def test_people_and_companies_are_realistic(world: World) -> None:
    assert {p.country for p in world.people} == {"CN", "DE", "BR", "US", "JP"}
    assert all(E164.match(p.phone) for p in world.people)
    assert any(re.search(r"[\u4e00-\u9fff]", p.name) for p in world.people)
    assert any(p.name.isascii() for p in world.people)
    assert len({c.id for c in world.companies}) == len(world.companies) == 12
    company_ids = {c.id for c in world.companies}
    assert all(p.company_id in company_ids for p in world.people if p.company_id)


def test_every_scenario_story_is_marked(world: World) -> None:
    marked = {scenario_of(e) for e in world.events} - {None}
    assert marked == {1, 2, 3, 4, 5, 6, 9, 10, 11, 12}


def test_scenario_1_buyer_compares_renewals_three_times_in_three_days_without_the_form(
    world: World,
) -> None:
    views = [e for e in story(world, 1, "Renewal Compare") if not e["properties"]["demo_control"]]
    buyers = set().union(*(who(world, e) for e in views))
    assert len(views) == 3 and len(buyers) == 1
    assert all(e["properties"]["path"] == "/renewal/compare" for e in views)
    assert when(views[-1]) - when(views[0]) <= timedelta(days=3)
    submitted = [e for e in world.events if e.get("event") == "Renewal Form Submitted"]
    assert submitted and all(buyers.isdisjoint(who(world, e)) for e in submitted)


def test_scenario_2_some_promotion_customers_bought_in_the_last_48_hours(world: World) -> None:
    assert story(world, 2, "Promotion Viewed")
    orders = story(world, 2, "Order Completed")
    assert len(orders) == 3
    assert all(NOW - when(e) <= timedelta(hours=48) for e in orders)


def test_scenario_4_contacts_of_two_companies_join_one_livestream_and_one_is_funded(
    world: World,
) -> None:
    attended = story(world, 4, "Webinar Attended") + story(world, 4, "Livestream Joined")
    assert len(attended) == 2
    assert len({e["properties"]["occasion_id"] for e in attended}) == 1
    assert abs(when(attended[0]) - when(attended[1])) <= timedelta(days=30)
    companies = {p.id: p.company_id for p in world.people}
    firms = {companies[person] for e in attended for person in who(world, e)}
    assert len(firms) == 2
    (funding,) = story(world, 4, "Funding Announced")
    assert funding["properties"]["company_id"] in firms


def test_scenario_5_someone_dwells_on_api_docs_and_expands_integration_repeatedly(
    world: World,
) -> None:
    dwells = story(world, 5, "API Docs Viewed")
    expanded = story(world, 5, "Section Expanded")
    assert any(e["properties"]["duration_s"] > 200 for e in dwells)
    assert len(expanded) >= 2
    assert all(e["properties"]["section"] == "integration" for e in expanded)
    assert len(set().union(*(who(world, e) for e in dwells + expanded))) == 1
    background = [e for e in world.events if e.get("event") == "API Docs Viewed"]
    assert all(e["properties"]["duration_s"] <= 200 for e in background if e not in dwells)


def test_scenario_6_one_phone_is_claimed_at_three_companies_from_three_sources(
    world: World,
) -> None:
    claims = [e for e in story(world, 6) if e["type"] == "identify"]
    assert len({e["traits"]["phone"] for e in claims}) == 1
    assert len({e["context"]["touchpoint"] for e in claims}) == 3
    assert len({e["traits"]["company"]["id"] for e in claims}) == 3
    assert E164.match(claims[0]["traits"]["phone"])


def test_scenario_10_a_german_customer_asks_for_erasure_in_german(world: World) -> None:
    (complaint,) = story(world, 10, "Complaint Submitted")
    assert "Bitte löschen Sie alle meine Daten" in complaint["properties"]["text"]
    (person,) = who(world, complaint)
    assert next(p for p in world.people if p.id == person).country == "DE"


def test_scenario_11_a_brazilian_has_a_valid_cpf_and_one_mistyped_request(world: World) -> None:
    (identify,) = [e for e in story(world, 11) if e["type"] == "identify"]
    assert cpf_is_valid(identify["traits"]["cpf"])
    (person,) = who(world, identify)
    assert next(p for p in world.people if p.id == person).country == "BR"
    requests = story(world, 11, "Invoice Requested")
    assert [cpf_is_valid(e["properties"]["cpf"]) for e in requests] == [
        e["properties"]["demo_valid"] for e in requests
    ]
    assert sorted(e["properties"]["demo_valid"] for e in requests) == [False, True]


def test_the_smallest_world_still_tells_every_story() -> None:
    small = generate(seed=3, companies=3, people=20, days=14, now=NOW)
    assert {scenario_of(e) for e in small.events} - {None} == {1, 2, 3, 4, 5, 6, 9, 10, 11, 12}


def test_now_defaults_to_the_current_hour() -> None:
    last = generate(people=20, companies=3, days=14).events[-1]
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert hour - timedelta(days=14) <= when(last) <= hour + timedelta(hours=1)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        generate(now=datetime(2026, 3, 1))


def test_a_world_too_small_for_the_stories_is_refused_with_every_reason() -> None:
    with pytest.raises(ValueError, match=r"companies=2.*people=5.*days=3"):
        generate(companies=2, people=5, days=3, now=NOW)
