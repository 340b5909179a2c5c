"""The console's pages as a person uses them, in English, Chinese and Arabic, with axe-core."""

from __future__ import annotations

import csv as csv_module
import io
import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine

from crmos.analytics.repo import replace_values
from tests.e2e.conftest import wait_until
from tests.e2e.console_support import (
    CJK,
    World,
    assert_accessible,
    browser,
    merged_pair,
    pending_recommendation,
    signed_in,
    world,
)

__all__ = ["browser", "world"]  # fixtures used by name

pytestmark = pytest.mark.e2e

# What a person reads on the screen, per language (from the catalogs, written here by hand so
# that a broken catalog fails the test).
WORDS = {
    "en": {"search": "Search customers", "go": "Search", "timeline": "Timeline", "dir": "ltr"},
    "zh-CN": {"search": "搜索客户", "go": "搜索", "timeline": "时间线", "dir": "ltr"},
    "ar": {"search": "البحث عن العملاء", "go": "بحث", "timeline": "الخط الزمني", "dir": "rtl"},
}


def _find(page: Page, words: dict[str, str], email: str) -> None:
    search = page.get_by_role("search").get_by_role("searchbox", name=words["search"])
    search.fill(email)
    page.get_by_role("search").get_by_role("button", name=words["go"]).click()


@pytest.mark.parametrize("lang", list(WORDS))
def test_a_person_finds_a_customer_by_email_and_reads_their_whole_story(
    browser: Browser, world: World, lang: str
) -> None:
    words = WORDS[lang]
    email = world.an_email()
    pid = world.profile_of(email)
    name = world.api("GET", f"/api/v1/profiles/{pid}").json()["traits"]["name"]
    page = signed_in(browser, world, world.admin_key, lang)
    html = page.locator("html")
    expect(html).to_have_attribute("dir", words["dir"])
    expect(html).to_have_attribute("lang", lang)
    assert_accessible(page)
    _find(page, words, email)
    link = page.get_by_role("link", name=name, exact=True)
    expect(link).to_have_attribute("href", f"/profiles/{pid}")
    assert_accessible(page)
    link.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name=words["timeline"])).to_be_visible()
    expect(page.get_by_text(email).first).to_be_visible()
    if lang == "zh-CN":
        assert CJK.search(page.get_by_role("heading", name=words["timeline"]).inner_text())
        assert CJK.search(page.locator("nav[aria-label='栏目']").inner_text())
    assert_accessible(page)
    page.context.close()


def test_the_language_picked_is_remembered_and_plural_forms_follow_it(
    browser: Browser, world: World
) -> None:
    page = signed_in(browser, world, world.admin_key)
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("link", name="Personen").click()
    expect(page.get_by_role("heading", name="Personen", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Personen auf dieser Seite")).to_be_visible()
    page.get_by_role("searchbox", name="Kunden suchen").fill(world.an_email())
    page.get_by_role("searchbox", name="Kunden suchen").press("Enter")
    expect(page.get_by_role("heading", name="1 Person auf dieser Seite")).to_be_visible()
    page.context.close()


def test_a_keyboard_only_path_leads_from_search_to_a_profile(
    browser: Browser, world: World
) -> None:
    email = world.an_email()
    pid = world.profile_of(email)
    page = signed_in(browser, world, world.admin_key)
    for _ in range(16):  # past the skip link, the sections (one more each new page) and languages
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == (
            "Search customers"
        ):
            break
    else:
        raise AssertionError("Tab never reached the customer search")
    page.keyboard.type(email)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{world.server.url}/people?q={email.replace('@', '%40')}")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == f"/profiles/{pid}":
            break
    else:
        raise AssertionError("Tab never reached the search result")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{world.server.url}/profiles/{pid}")
    page.context.close()


def test_a_split_made_in_the_console_with_its_reason_is_seen_by_the_api(
    browser: Browser, world: World
) -> None:
    survivor, other, merge_id = merged_pair(world)
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/profiles/{survivor}")
    article = page.get_by_role("article").filter(has_text=merge_id)
    article.get_by_label("Reason for the split").fill("two people who share a desk phone")
    article.get_by_role("button", name="Split").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    merges = world.api("GET", f"/api/v1/profiles/{other}").json()["merges"]
    (split,) = [m for m in merges if m["id"] == merge_id]
    assert split["split_reason"] == "two people who share a desk phone"
    assert not split["active"]
    page.context.close()


def test_timeline_and_list_filters_stay_in_the_url(browser: Browser, world: World) -> None:
    pid = world.profile_of(world.an_email())
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/profiles/{pid}")
    timeline = page.get_by_role("region", name="Timeline")
    timeline.get_by_label("Type").select_option("event")
    expect(page).to_have_url(
        f"{world.server.url}/profiles/{pid}?kind=event&touchpoint=&since=&until="
    )
    kinds = timeline.locator("ol li .tag").first
    expect(kinds).to_have_text("event")
    page.reload()
    expect(page.get_by_role("region", name="Timeline").get_by_label("Type")).to_have_value("event")
    page.goto(f"{world.server.url}/people")
    page.get_by_label("Marketing paused").check()
    expect(page).to_have_url(re.compile(r"/people\?.*suppressed=true"))
    paused = world.api("GET", "/api/v1/profiles", params={"marketing_suppressed": "true"})
    expected = {p["id"] for p in paused.json()["data"]}
    expect(page.locator("#results tbody tr")).to_have_count(len(expected))
    csv = page.request.get(f"{world.server.url}/people.csv?suppressed=true").text()
    lines = csv.strip().splitlines()
    assert lines[0].startswith("id,name,email")
    assert expected and {line.split(",")[0] for line in lines[1:]} == expected
    page.context.close()


def test_approving_and_rejecting_with_a_reason_in_the_console_are_seen_by_the_api(
    browser: Browser, world: World
) -> None:
    email = world.an_email()
    first = pending_recommendation(world, email)
    second = pending_recommendation(world, email)
    page = signed_in(browser, world, world.admin_key)
    assert first["profile_id"] == second["profile_id"]
    page.goto(f"{world.server.url}/profiles/{first['profile_id']}")
    # Both carry the same title; each recommendation's card is the element with its id.
    page.locator(f"[id='{first['id']}']").get_by_role("button", name="Approve: ").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    card = page.locator(f"[id='{second['id']}']")
    card.get_by_role("button", name="Reject: ").click()  # no reason: the browser refuses
    assert card.get_by_label("Reason for rejecting").evaluate("e => e.validity.valueMissing")
    assert world.api("GET", f"/api/v1/recommendations/{second['id']}").json()["status"] == (
        "pending"
    )
    card.get_by_label("Reason for rejecting").fill("they bought the seats last week")
    card.get_by_role("button", name="Reject: ").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    approved = world.api("GET", f"/api/v1/recommendations/{first['id']}").json()
    rejected = world.api("GET", f"/api/v1/recommendations/{second['id']}").json()
    assert approved["status"] == "approved"
    assert (rejected["status"], rejected["note"]) == ("rejected", "they bought the seats last week")
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh-CN", "ar"])
def test_the_timeline_shows_firings_and_their_saga_steps_and_pages_older_as_the_api_does(
    browser: Browser, world: World, lang: str
) -> None:
    fired = [f for f in world.api("GET", "/api/v1/playbook-firings").json() if f["run_id"]]
    pid = fired[0]["profile_id"]
    path = f"/api/v1/profiles/{pid}/timeline"
    firings = world.api("GET", path, params={"kind": "firing"}).json()["data"]
    steps = world.api("GET", path, params={"kind": "step"}).json()["data"]
    assert fired[0]["id"] in {f["id"] for f in firings}
    assert {s["links"]["run_id"] for s in steps} & {f["links"].get("run_id") for f in firings}
    first = world.api("GET", path, params={"limit": 25}).json()
    assert first["next_cursor"], "the demo profile has more than one page"
    second = world.api("GET", path, params={"limit": 25, "cursor": first["next_cursor"]}).json()
    page = signed_in(browser, world, world.admin_key, lang)
    page.goto(f"{world.server.url}/profiles/{pid}")
    timeline = page.get_by_role("region", name=WORDS[lang]["timeline"])
    entries = timeline.locator("ol li")
    expect(entries).to_have_count(25)
    expect(entries.first.locator("bdi").first).to_have_text(first["data"][0]["title"])
    timeline.get_by_role("navigation").get_by_role("link").last.click()  # older
    expect(page).to_have_url(re.compile(r"cursor=" + re.escape(first["next_cursor"])))
    expect(entries.first.locator("bdi").first).to_have_text(second["data"][0]["title"])
    timeline.get_by_label(TYPE[lang]).select_option("firing")
    expect(entries.first.locator(".tag").first).to_have_text(FIRING[lang])
    ran = next(n for n, f in enumerate(firings) if f["links"].get("run_id"))
    run_link = entries.nth(ran).get_by_role("link", name=RUN[lang])
    expect(run_link).to_have_attribute("href", f"/runs/{firings[ran]['links']['run_id']}")
    expect(page.locator("html")).to_have_attribute("dir", WORDS[lang]["dir"])
    if lang == "zh-CN":
        assert CJK.search(entries.first.locator(".tag").first.inner_text())
    assert_accessible(page)
    page.context.close()


TYPE = {"en": "Type", "zh-CN": "类型", "ar": "النوع"}
FIRING = {"en": "firing", "zh-CN": "剧本触发", "ar": "تفعيل"}
RUN = {"en": "run", "zh-CN": "运行", "ar": "التشغيل"}


def test_every_match_joins_a_new_hand_picked_audience_and_the_api_sees_its_members(
    browser: Browser, world: World
) -> None:
    paused = world.api("GET", "/api/v1/profiles", params={"marketing_suppressed": "true"})
    expected = {p["id"] for p in paused.json()["data"]}
    assert expected, "the demo world pauses marketing to someone (scenario 6)"
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/people?suppressed=true")
    page.get_by_text("Add every match to an audience").click()
    page.get_by_label("Or a new audience named").fill("Paused buyers")
    page.get_by_role("button", name="Add every match").click()
    n = len(expected)
    word = "person" if n == 1 else "people"
    expect(page.get_by_role("status")).to_have_text(f"{n} {word} added to the audience.")
    (made,) = [
        a
        for a in world.api("GET", "/api/v1/audiences").json()["data"]
        if a["name"] == "Paused buyers"
    ]
    assert made["condition"] == "hand_picked"
    found = world.api("GET", f"/api/v1/audiences/{made['id']}/members").json()
    assert {m["profile_id"] for m in found["data"]} == expected
    expect(page).to_have_url(re.compile(f"audience={made['id']}"))
    expect(page.locator("#results tbody tr")).to_have_count(n)
    assert_accessible(page)
    page.get_by_text("Add every match to an audience").click()
    page.get_by_label("Hand-picked audience").select_option(made["id"])
    page.get_by_role("button", name="Add every match").click()
    expect(page.get_by_role("status")).to_have_text("0 people added to the audience.")
    page.context.close()


def test_a_read_only_key_sees_no_bulk_action_and_its_post_is_refused(
    browser: Browser, world: World
) -> None:
    page = signed_in(browser, world, world.read_key)
    page.goto(f"{world.server.url}/people")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Add every match")).to_have_count(0)
    csrf = page.locator("body").get_attribute("data-csrf")
    refused = page.request.post(
        f"{world.server.url}/people/audience", form={"csrf": csrf or "", "name": "Sneaky"}
    )
    assert refused.status == 403
    names = {a["name"] for a in world.api("GET", "/api/v1/audiences").json()["data"]}
    assert "Sneaky" not in names
    page.context.close()


def test_the_csv_export_defuses_cells_a_spreadsheet_would_run_as_formulas(
    browser: Browser, world: World
) -> None:
    email = "formula@example.com"
    body = {
        "type": "identify",
        "userId": "u-formula",
        "traits": {"name": '=HYPERLINK("http://evil.example","x")', "email": email},
    }
    sent = httpx.post(f"{world.server.url}/v1/identify", json=body, auth=(world.write_key, ""))
    assert sent.status_code == 200, sent.text
    wait_until(
        lambda: world.api("GET", "/api/v1/profiles", params={"q": email}).json()["data"],
        timeout=60,
        what="the profile to be searchable",
    )
    page = signed_in(browser, world, world.admin_key)
    csv = page.request.get(f"{world.server.url}/people.csv?q={email}").text()
    (row,) = list(csv_module.DictReader(io.StringIO(csv)))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["email"] == email
    page.context.close()


def test_people_sort_by_predicted_value_filter_by_it_and_name_a_bad_bound(
    browser: Browser, world: World
) -> None:
    first, second = (p["id"] for p in world.api("GET", "/api/v1/profiles?limit=2").json()["data"])
    engine = create_engine(world.server.env["CRMOS__STORE__URL"])
    try:  # as the analytics room's refresh stores them (a fit here would take seconds)
        with engine.begin() as conn:
            replace_values(
                conn,
                world.workspace_id,
                [
                    {"profile_id": first, "scored_ms": 1, "clv": 10.0, "churn": 0.7},
                    {"profile_id": second, "scored_ms": 1, "clv": 900.0, "churn": 0.2},
                ],
            )
    finally:
        engine.dispose()
    page = signed_in(browser, world, world.admin_key)
    page.goto(f"{world.server.url}/people")
    page.get_by_label("Predicted value at least").fill("5")
    page.get_by_label("Sort").select_option(label="Highest predicted value first")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/profiles/{second}")
    expect(rows.nth(1).get_by_role("link")).to_have_attribute("href", f"/profiles/{first}")
    assert "clv_min=5" in page.url and "sort=-clv" in page.url  # kept in the URL
    api = world.api("GET", "/api/v1/profiles", params={"clv_min": 5, "sort": "-clv"}).json()
    assert [p["id"] for p in api["data"]] == [second, first]
    page.goto(f"{world.server.url}/people?clv_min=lots")
    expect(page.get_by_role("alert")).to_contain_text("clv_min")
    page.context.close()
