"""Every other console view in three languages with axe-core, and the actions taken there
checked through the API: resolving a review, starting a data-subject request."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.console_support import (
    CJK,
    World,
    assert_accessible,
    browser,
    signed_in,
    world,
)

__all__ = ["browser", "world"]  # fixtures used by name

pytestmark = pytest.mark.e2e

HEADINGS = {
    "en": ["Approvals", "Review queue", "Runs", "Graph health", "Compliance", "Playbooks"],
    "zh-CN": ["审批", "审核队列", "运行", "关系图健康", "合规", "剧本"],
    "ar": [
        "الموافقات",
        "قائمة المراجعة",
        "عمليات التشغيل",
        "صحة الرسم البياني",
        "الامتثال",
        "أدلة التشغيل",
    ],
}
PATHS = ["/approvals", "/reviews", "/runs", "/health", "/compliance", "/playbooks"]


@pytest.mark.parametrize("lang", list(HEADINGS))
def test_every_work_view_reads_in_its_language_and_has_no_serious_accessibility_issue(
    browser: Browser, world: World, lang: str
) -> None:
    page = signed_in(browser, world, world.admin_key, lang)
    for path, heading in zip(PATHS, HEADINGS[lang], strict=True):
        page.goto(f"{world.server.url}{path}")
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        if lang == "zh-CN":
            assert CJK.search(page.get_by_role("heading", level=1).inner_text())
        assert_accessible(page)
    run_id = world.api("GET", "/api/v1/runs", params={"limit": 1}).json()["data"][0]["id"]
    page.goto(f"{world.server.url}/runs/{run_id}")
    expect(page.get_by_text(run_id).first).to_be_visible()
    assert_accessible(page)
    firings = world.api("GET", "/api/v1/playbook-firings").json()
    page.goto(f"{world.server.url}/decisions/{firings[0]['decision_id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(firings[0]["decision_id"])
    assert_accessible(page)
    page.context.close()


def test_resolving_a_conflict_in_the_review_queue_is_seen_by_the_api(
    browser: Browser, world: World
) -> None:
    open_ = world.api("GET", "/api/v1/identity/review", params={"kind": "conflict"}).json()
    ticket = open_["data"][0]["id"]
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/reviews?kind=conflict")
    card = page.get_by_role("article", name=ticket)
    card.get_by_label("Note").fill("the switchboard number of a shared office")
    page.get_by_role("button", name=f"Resolve {ticket}").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    closed = world.api("GET", f"/api/v1/identity/review/{ticket}").json()
    assert closed["status"] == "resolved"
    page.context.close()


def test_a_request_started_in_the_dsr_console_runs_and_is_seen_by_the_api(
    browser: Browser, world: World
) -> None:
    email = world.an_email()
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/compliance")
    page.get_by_label("Request", exact=True).select_option("access")
    page.get_by_label("Identifier type", exact=True).select_option("email")
    page.get_by_label("Identifier", exact=True).fill(email)
    page.get_by_role("button", name="Start request").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    request_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    found = world.api("GET", f"/api/v1/dsr/{request_id}").json()
    assert found["kind"] == "access" and found["profile_id"] == world.profile_of(email)
    expect(page.get_by_role("link", name="Download the proof (JSON)")).to_be_visible()
    assert_accessible(page)
    page.context.close()


def test_an_account_page_lists_its_people_with_their_scores_and_links_back_to_them(
    browser: Browser, world: World
) -> None:
    scored = world.api(
        "GET", "/api/v1/profiles", params={"role": "technical_decision_maker", "min_score": 0.01}
    ).json()["data"]
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/profiles/{scored[0]['id']}")
    scores = page.get_by_role("region", name="Role scores")
    expect(scores.get_by_role("cell", name="technical_decision_maker")).to_be_visible()
    chart = scores.get_by_role("img", name="Role scores over time")
    expect(chart.locator("canvas")).to_have_count(1)  # ECharts drew it
    history = json.loads(page.locator("#chart-scores").text_content() or "{}")
    (line,) = [s for s in history["series"] if s["name"] == "technical_decision_maker"]
    assert len(line["data"]) >= 3  # before and after each reinforcement, then now
    assert line["data"][1][1] > line["data"][0][1]  # a reinforcement raises the confidence
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts", level=1)).to_be_visible()
    assert_accessible(page)
    first = page.get_by_role("table").get_by_role("link").first
    name = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    people = page.get_by_role("region", name="People")
    expect(people.get_by_role("link").first).to_have_attribute("href", re.compile("^/profiles/"))
    assert_accessible(page)
    page.context.close()


def test_a_playbooks_versions_diff_moment_dry_run_and_experiment_match_the_api(
    browser: Browser, world: World
) -> None:
    shown = world.api("GET", "/api/v1/playbooks/renewal-risk").json()
    changed = shown["source"].replace("description:", "description: Reworded -", 1)
    published = world.api(
        "POST", "/api/v1/playbooks", json={"source": changed, "comment": "reworded"}
    )
    assert published.status_code == 201, published.text
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/playbooks")
    page.get_by_role("link", name="renewal-risk").click()
    expect(page.get_by_role("heading", name="renewal-risk", level=1)).to_be_visible()
    versions = page.get_by_role("region", name="Versions")
    expect(versions.locator("ins")).to_contain_text("Reworded -")
    expect(versions.locator("del").first).to_be_visible()
    in_force = page.get_by_role("region", name="Version in force")
    in_force.get_by_label("At (UTC)").fill("2001-01-01T00:00")
    in_force.get_by_role("button", name="Show").click()
    expect(in_force.get_by_role("status")).to_have_text("No version was in force then.")
    assert_accessible(page)

    dry = world.api(
        "POST", "/api/v1/playbooks/dry-run", params={"since": "20000d"}, json={"source": changed}
    ).json()
    panel = page.get_by_role("region", name="Dry-run")
    panel.get_by_label("Replay the events stored since").fill("1980-01-01")
    panel.get_by_role("button", name="Run the dry-run").click()
    times = "time" if dry["fired"] == 1 else "times"
    expect(panel.get_by_role("status")).to_contain_text(
        f"it would have fired {dry['fired']} {times}"
    )
    for pid in dry["profiles"]:
        expect(panel.get_by_role("link", name=pid)).to_have_attribute("href", f"/profiles/{pid}")

    firings = world.api(
        "GET", "/api/v1/playbook-firings", params={"playbook_id": "insurance-renewal"}
    ).json()
    assert firings, "scenario 9 fires the insurance renewal"
    page.goto(f"{world.server.url}/playbooks/insurance-renewal")
    results = page.get_by_role("region", name="Experiment results")
    for variant in ("outbound", "holdout"):
        count = sum(1 for f in firings if f["variant"] == variant)
        row = results.get_by_role("row").filter(has_text=variant)
        expect(row.get_by_role("cell").nth(2)).to_have_text(str(count))
    expect(results.get_by_role("row").filter(has_text="holdout")).to_contain_text("control")
    fired = page.get_by_role("region", name="Firings")
    expect(fired.get_by_role("row")).to_have_count(len(firings) + 1)
    assert_accessible(page)
    page.context.close()


def test_retrying_a_compensated_run_in_the_console_starts_a_new_run_the_api_links_back(
    browser: Browser, world: World
) -> None:
    runs = world.api("GET", "/api/v1/runs", params={"status": "compensated"}).json()["data"]
    assert runs, "scenario 7's over-limit agreement ends compensated"
    old = runs[0]["id"]
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/runs/{old}")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)  # it has ended
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    new = page.url.split("/runs/")[1].split("?")[0]
    assert new != old
    assert world.api("GET", f"/api/v1/runs/{new}").json()["retry_of"] == old
    expect(page.get_by_role("link", name=old)).to_have_attribute("href", f"/runs/{old}")
    assert_accessible(page)
    page.context.close()
