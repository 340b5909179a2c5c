"""The demo world through intake and the stitcher: scenarios 3 and 6, scored on ground truth."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from crmos.bench.identity_quality import Cell, fresh_store, score
from crmos.bootstrap import Container
from crmos.demo import World, generate, world_clock
from crmos.demo.world import scenario_of
from crmos.identity import list_reviews
from crmos.identity.matching import match_workspace
from tests.integration.identity_support import pid, view

SMALL = (("companies", 6), ("people", 30), ("days", 14))
# Worlds of several seeds, each at several world clocks: the world changes with its ``now``
# (a test that passed or failed with the wall clock was a defect), so each is pinned.
GRID = [Cell(seed, clock, SMALL) for seed in (11, 12, 13) for clock in (0, 9, 14, 20)]


@pytest.mark.parametrize("cell", GRID, ids=lambda c: f"seed{c.seed}-clock{c.clock:02d}")
def test_stitching_makes_every_link_the_events_carry_in_worlds_of_any_seed_and_clock(
    cell: Cell,
) -> None:
    world = cell.world()
    with fresh_store("stitch") as c:
        _load(c, world)
        figures = score(c.engine, world)
    assert figures["precision"] == 1.0, (cell, figures)
    # Every link the events carry is made, bar those through the switchboard number, which
    # the account guard refuses to the people of the second and third company: recall reaches
    # the bound without links through a shared number, and never passes the full bound. (A
    # fixed allowance under the full bound failed at clock 09, where the switchboard's
    # people hold many identifiers in a world of 30: 0.660 against 0.717.)
    assert figures["recall_all"] >= figures["recall_bound_unshared"] - 0.01, (cell, figures)
    assert figures["recall_all"] <= figures["recall_bound"], (cell, figures)


def test_the_demo_world_stitches_without_a_false_merge_and_runs_scenarios_3_and_6(
    container: Container,
) -> None:
    world = GRID[0].world()
    ws, rejected = _load(container, world)
    assert rejected == 0
    figures = score(container.engine, world)
    assert figures["precision"] == 1.0
    assert figures["recall_bound"] - 0.03 <= figures["recall_all"] <= figures["recall_bound"]
    stitched = [e for e in world.events if scenario_of(e) == 3 and e["type"] == "identify"]
    assert [e["context"]["touchpoint"] for e in stitched] == ["wechat", "app", "pos", "call_centre"]
    profiles = {_profile_of(container, ws, e) for e in stitched}
    assert len(profiles) == 1
    sources = {i["source"] for i in view(container, ws, profiles.pop())["identifiers"]}
    assert {"wechat", "app", "pos"} <= sources
    with container.engine.connect() as conn:
        (ticket,) = list_reviews(conn, ws, kind="conflict")
    assert ticket["identifier"].startswith("phone:+")
    # Three companies; a person whose channels all reported the number may have two profiles.
    assert len(ticket["evidence"]["accounts"]) == 3 and len(ticket["subject_profiles"]) >= 3
    for subject in ticket["subject_profiles"]:
        assert view(container, ws, subject)["flags"]["marketing_suppressed"]


def test_batch_matching_joins_what_stitching_cannot_without_merging_two_people(
    container: Container,
) -> None:
    # A pinned world clock: the world changes with its ``now``.
    world = generate(seed=12, companies=6, people=60, days=30, now=world_clock(12, 15))
    ws, _ = _load(container, world)
    stitched = score(container.engine, world)
    result = match_workspace(container.engine, ws, container.settings.identity)
    matched = score(container.engine, world)
    assert result.merged > 0 and result.reviews > 0
    assert matched["precision"] >= 0.995
    assert matched["recall_all"] >= stitched["recall_all"] + 0.15, (stitched, matched)
    with container.engine.connect() as conn:
        tickets = list_reviews(conn, ws, kind="match")
    assert len(tickets) == result.reviews


def _load(container: Container, world: World) -> tuple[str, int]:
    """A new workspace holding ``world``, stitched; its id and the events intake rejected."""
    ws = container.workspaces.create("demo")[0].id
    lines = [orjson.dumps(e) for e in world.events]
    reports = container.ingest().ingest_lines(ws, "import", lines)
    rejected = sum(report.rejected for report in reports)
    container.stream.run_once()
    return ws, rejected


def _profile_of(container: Container, ws: str, event: dict[str, Any]) -> str | None:
    if "anonymousId" in event:
        return pid(container, ws, "anonymous_id", event["anonymousId"])
    kinds = {"pos": "pos_member_id", "call_centre": "phone"}
    return pid(container, ws, kinds.get(event["context"]["touchpoint"], "user_id"), event["userId"])
