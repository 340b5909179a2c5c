"""Runs in the console: a run started through the API for a person shows on their 360 and as
an open run of their account; cancelled from the Runs page, and retried, checked through the
API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import wait_until
from tests.e2e.console_support import World, assert_accessible, browser, signed_in, world

__all__ = ["browser", "world"]  # fixtures used by name

pytestmark = pytest.mark.e2e


def _person_at_an_account(world: World) -> tuple[str, str]:
    """(account id, profile id) of someone at a demo account."""
    for account in world.api("GET", "/api/v1/accounts").json()["data"]:
        people = world.api("GET", f"/api/v1/accounts/{account['id']}").json()["people_list"]
        if people:
            return str(account["id"]), str(people[0]["profile_id"])
    raise AssertionError("no demo account has people")


def _waiting_run(world: World, profile_id: str) -> dict[str, Any]:
    """A run for ``profile_id`` whose one step (tag the profile: no outside system needed),
    once done, waits an hour for its outcome."""
    spec = {
        "name": "awaits a callback",
        "profile_id": profile_id,
        "steps": [
            {
                "id": "tag",
                "action": "profile.tag",
                "with": {"profile_id": profile_id, "params": {"traits": {"fair_guest": True}}},
                "await_outcome": {"timeout_s": 3600},
            }
        ],
    }
    started = world.api("POST", "/api/v1/runs", json=spec)
    assert started.status_code == 201, started.text
    return dict(started.json())


def _status(world: World, run_id: str) -> str:
    run = world.api("GET", f"/api/v1/runs/{run_id}").json()
    assert run["status"] not in ("compensated", "needs_attention"), run
    return str(run["status"])


def test_a_run_for_a_person_is_cancelled_from_the_runs_page_then_retried_as_the_api_shows(
    browser: Browser, world: World
) -> None:
    account_id, pid = _person_at_an_account(world)
    run = _waiting_run(world, pid)
    run_id = run["id"]
    wait_until(lambda: _status(world, run_id) == "waiting", what=f"run {run_id} to wait")
    page = signed_in(browser, world, world.admin_key)

    page.goto(f"{world.server.url}/profiles/{pid}")
    runs = page.get_by_role("region", name="Runs")
    expect(runs.get_by_role("link", name=run_id)).to_have_attribute("href", f"/runs/{run_id}")
    page.goto(f"{world.server.url}/accounts/{account_id}")
    open_runs = page.get_by_role("region", name="Open runs")
    expect(open_runs.get_by_role("link", name=run_id)).to_be_visible()
    assert_accessible(page)

    page.goto(f"{world.server.url}/runs?status=waiting")
    page.get_by_role("link", name=run_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(run_id)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    assert world.api("GET", f"/api/v1/runs/{run_id}").json()["cancel_requested"] is True
    wait_until(lambda: _status(world, run_id) == "cancelled", what=f"run {run_id} to cancel")

    page.goto(f"{world.server.url}/accounts/{account_id}")
    expect(page.get_by_role("region", name="Open runs").get_by_text(run_id)).to_have_count(0)
    page.goto(f"{world.server.url}/runs/{run_id}")
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    again = page.url.split("/runs/")[1].split("?")[0]
    retried = world.api("GET", f"/api/v1/runs/{again}").json()
    assert again != run_id and retried["retry_of"] == run_id
    assert retried["profile_id"] == pid
    timeline = world.api("GET", f"/api/v1/profiles/{pid}/timeline", params={"kind": "run"})
    assert {run_id, again} <= {e["id"] for e in timeline.json()["data"]}
    page.context.close()


def test_the_health_page_charts_each_rate_over_time_per_source_and_per_rule(
    browser: Browser, world: World
) -> None:
    series = world.api("GET", "/api/v1/health/graph/series").json()
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/health")
    trends = page.get_by_role("region", name="Rates over time")
    for title in ("Event loss over time", "Match conflicts over time"):
        expect(trends.get_by_role("img", name=title).locator("canvas")).to_have_count(1)
    failures = trends.get_by_role("img", name="Inference failures over time")
    expect(failures.locator("canvas")).to_have_count(1)
    drawn = json.loads(page.locator("#trend-event_loss").text_content() or "{}")
    assert drawn["kind"] == "time"
    assert [s["name"] for s in drawn["series"]] == [
        "All",
        *sorted(series["event_loss"]["by_source"]),
    ]
    rules = json.loads(page.locator("#trend-inference_failures").text_content() or "{}")
    assert {s["name"] for s in rules["series"]} == {"All", *series["inference_failures"]["by_rule"]}
    assert_accessible(page)
    page.context.close()
