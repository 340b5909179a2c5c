"""The visual playbook builder as a business user uses it: scenario 1 built from an empty canvas
by dragging and connecting, published with a message and seen firing on live events; scenario 9
built from components only and dry-run on history; a diff of two versions and a rollback; the
page in German, Chinese and Arabic (right to left), each with axe-core."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import wait_until
from tests.e2e.console_support import World, assert_accessible, browser, signed_in, world

__all__ = ["browser", "world"]  # fixtures used by name

pytestmark = pytest.mark.e2e
# The docs' screenshot, rewritten when UPDATE_DOCS_SCREENSHOTS=1 (a plain run leaves docs/ alone).
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console" / "builder.png"


def _open(page: Page, world: World, query: str = "") -> Page:
    # Tall enough that the palette and the canvas need no scrolling: a drag that scrolled the
    # page between pressing and moving would start on another palette item.
    page.set_viewport_size({"width": 1400, "height": 1700})
    page.goto(f"{world.server.url}/builder{query}")
    expect(page.locator("body[data-builder-ready=true]")).to_have_count(1)
    return page


def _canvas(page: Page) -> Locator:
    return page.get_by_role("region", name="Canvas")


def _node(page: Page, text: str) -> Locator:
    return page.locator(".drawflow-node").filter(has_text=text)


def _drop(page: Page, item: str, x: int, y: int) -> Locator:
    """Drag a palette item onto the canvas at (x, y); the new node is the one inspected."""
    palette = page.get_by_role("navigation", name="Palette")
    before = page.locator(".drawflow-node").count()
    palette.get_by_role("button", name=item, exact=True).drag_to(
        page.locator("#canvas"), target_position={"x": x, "y": y}
    )
    expect(page.locator(".drawflow-node")).to_have_count(before + 1)
    return page.get_by_role("region", name="Node")


def _connect_by_mouse(page: Page, source: Locator, target: Locator) -> None:
    """Drag from the source node's output dot onto the target node."""
    before = page.locator("#canvas .connection").count()
    out = source.locator(".output").bounding_box()
    into = target.locator(".nb-kind").bounding_box()
    assert out and into
    page.mouse.move(out["x"] + out["width"] / 2, out["y"] + out["height"] / 2)
    page.mouse.down()
    page.mouse.move(into["x"] + into["width"] / 2, into["y"] + into["height"] / 2, steps=8)
    page.mouse.up()
    expect(page.locator("#canvas .connection")).to_have_count(before + 1)


def _connect_by_form(inspector: Locator, target: str) -> None:
    """Connect the inspected node to another through its form (no mouse needed)."""
    choice = inspector.get_by_label("Connect to")
    value = choice.locator("option").filter(has_text=target).first.get_attribute("value")
    assert value is not None
    choice.select_option(value)
    inspector.get_by_role("button", name="Connect", exact=True).click()


def _valid(page: Page) -> None:
    expect(page.get_by_role("region", name="Validation").get_by_role("status")).to_contain_text(
        "No problems: the file is valid.", timeout=15_000
    )


def _built_yaml(page: Page) -> dict[str, object]:
    return dict(yaml.safe_load(page.locator("#yaml").text_content() or ""))


def test_scenario_one_is_built_from_an_empty_canvas_published_and_fires_on_live_events(
    browser: Browser, world: World
) -> None:
    page = _open(signed_in(browser, world, world.admin_key), world)
    playbook_id = f"renewal-risk-built-{uuid.uuid4().hex[:6]}"
    expect(page.locator(".drawflow-node")).to_have_count(0)
    about = page.get_by_role("region", name="About this playbook")
    about.get_by_label("Playbook id").fill(playbook_id)
    about.get_by_label("Description").fill("Three renewal comparisons in three days, no form")

    node = _drop(page, "Count in a window", 40, 40)
    node.get_by_label("Segment type").select_option("page")
    node.get_by_label("Field").fill("event.properties.path")
    node.get_by_label("Value").fill("/renewal/compare")
    node.get_by_role("button", name="Add to the condition").click()
    expect(node.get_by_label("Where (CEL over the event)")).to_have_value(
        'event.properties.path == "/renewal/compare"'
    )
    node = _drop(page, "Absence", 40, 250)
    node.get_by_label("Event name").fill("Renewal Form Submitted")
    _drop(page, "Branch: all of", 280, 140)
    _connect_by_mouse(page, _node(page, "Count in a window"), _node(page, "All of"))
    _node(page, "Absence").get_by_role("button", name="Edit").click()
    _connect_by_form(page.get_by_role("region", name="Node"), "All of")

    steps = {"billing.roi_sheet": 30, "csm.task": 200, "sales.alert_card": 370}
    for component, y in steps.items():
        node = _drop(page, component, 500, y)
        if component == "billing.roi_sheet":
            node.get_by_label("Csm").fill("Li Wei")
        else:
            node.get_by_label("Webhook").fill("csm" if component == "csm.task" else "director")
        _connect_by_mouse(page, _node(page, "All of"), _node(page, component))
    _valid(page)
    built = _built_yaml(page)
    assert built["trigger"] == {
        "pattern": {
            "all": [
                {
                    "count": {
                        "at_least": 3,
                        "within": "3d",
                        "type": "page",
                        "where": 'event.properties.path == "/renewal/compare"',
                    }
                },
                {"absent": {"event": "Renewal Form Submitted", "within": "3d"}},
            ]
        }
    }
    assert [s["component"] for s in built["steps"]] == list(steps)  # type: ignore[union-attr]
    assert_accessible(page)
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1400, "height": 1060})

    page.get_by_label("Message").fill("built in the builder")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("Published version")).to_be_visible()
    shown = world.api("GET", f"/api/v1/playbooks/{playbook_id}").json()
    assert shown["comment"] == "built in the builder"
    assert yaml.safe_load(shown["source"]) == built

    user = f"buyer-{uuid.uuid4().hex[:8]}"
    auth = (world.write_key, "")
    traits = {"email": f"{user}@example.com", "name": "Renata Buyer", "company": "Hooli"}
    body = {"userId": user, "traits": traits}
    assert httpx.post(f"{world.server.url}/v1/identify", json=body, auth=auth).is_success
    for _ in range(3):
        view = {
            "userId": user,
            "name": "Renewal comparison",
            "properties": {"path": "/renewal/compare"},
            "timestamp": datetime.now(UTC).isoformat(),
        }
        assert httpx.post(f"{world.server.url}/v1/page", json=view, auth=auth).is_success

    def fired() -> list[dict[str, object]]:
        params = {"playbook_id": playbook_id}
        return list(world.api("GET", "/api/v1/playbook-firings", params=params).json())

    firings = wait_until(fired, 60, what=f"a firing of {playbook_id}")
    assert len(firings) == 1 and firings[0]["status"] in ("pending", "starting", "started")
    page.goto(f"{world.server.url}/playbooks/{playbook_id}")
    table = page.get_by_role("region", name="Firings")
    expect(table.get_by_role("link", name=str(firings[0]["profile_id"]))).to_be_visible()
    page.context.close()


def test_scenario_nine_is_built_from_components_only_and_dry_run_on_history(
    browser: Browser, world: World
) -> None:
    page = _open(signed_in(browser, world, world.admin_key), world)
    about = page.get_by_role("region", name="About this playbook")
    about.get_by_label("Playbook id").fill("insurance-renewal-built")
    about.get_by_label("Description").fill("Insurance renewal outbound, from components")
    page.get_by_role("navigation", name="Palette").get_by_role(
        "button", name="Event", exact=True
    ).click()
    node = page.get_by_role("region", name="Node")
    node.get_by_label("Event name").fill("Policy Renewal Due")
    chain = [
        ("insurance.claims_history", {"Years": "3"}),
        (
            "insurance.rate_factor",
            {"Base Premium": "1200", "Claims": "${steps.claims_history.claims}"},
        ),
        ("insurance.agent_qualification", {"Agents (JSON)": '{"Anna Schmidt": ["DE", "AT"]}'}),
        (
            "compliance.script_check",
            {"Script": "Your renewal premium is ${steps.rate_factor.premium}."},
        ),
        (
            "notify.email",
            {"Subject": "Your policy renewal", "Text": "Premium ${steps.rate_factor.premium}"},
        ),
    ]
    previous = "Policy Renewal Due"
    palette = page.get_by_role("navigation", name="Palette")
    for component, params in chain:
        palette.get_by_role("button", name=component, exact=True).click()
        node = page.get_by_role("region", name="Node")
        for label, value in params.items():
            node.get_by_label(label, exact=True).fill(value)
        _node(page, previous).get_by_role("button", name="Edit").click()
        _connect_by_form(page.get_by_role("region", name="Node"), component)
        previous = component
    _valid(page)
    built = _built_yaml(page)
    assert [s["id"] for s in built["steps"]] == [  # type: ignore[union-attr]
        "claims_history",
        "rate_factor",
        "agent_qualification",
        "script_check",
        "email",
    ]
    assert built["steps"][1]["after"] == ["claims_history"]  # type: ignore[index]

    dry = world.api(
        "POST",
        "/api/v1/playbooks/dry-run",
        params={"since": "90d"},
        json={"source": page.locator("#yaml").text_content()},
    ).json()
    panel = page.get_by_role("region", name="Dry-run on history")
    panel.get_by_label("Replay the events stored in the last").select_option("90d")
    panel.get_by_role("button", name="Run the dry-run").click()
    expect(panel.get_by_role("row").filter(has_text="Would fire")).to_contain_text(
        str(dry["fired"])
    )
    assert dry["fired"] > 0, "the demo world holds Policy Renewal Due events"
    page.context.close()


def test_a_change_shows_on_the_canvas_as_a_diff_and_can_be_rolled_back(
    browser: Browser, world: World
) -> None:
    source = world.api("GET", "/api/v1/playbooks/renewal-risk").json()["source"]
    changed = source.replace("months: 12", "months: 24")
    answer = world.api(
        "POST", "/api/v1/playbooks", json={"source": changed, "comment": "24 months"}
    )
    assert answer.status_code == 201, answer.text
    page = _open(signed_in(browser, world, world.admin_key), world, "?playbook=renewal-risk")
    expect(_node(page, "roi_sheet")).to_have_count(1)
    versions = page.get_by_role("region", name="Versions")
    versions.get_by_role("button", name="Show the changes on the canvas").click()
    expect(versions.get_by_role("status")).to_contain_text("changed")
    expect(_node(page, "roi_sheet")).to_have_class(re.compile(r"\bdiff-changed\b"))
    versions.get_by_role("button", name="Back to editing").click()
    versions.get_by_role("button", name="Roll back to the previous version").click()
    expect(page.get_by_text("Rolled back")).to_be_visible()
    now = world.api("GET", "/api/v1/playbooks/renewal-risk").json()
    assert "months: 12" in now["source"]
    page.context.close()


WORDS = {
    "de": ("Playbook-Baukasten", "ltr"),
    "zh-CN": ("剧本构建器", "ltr"),
    "ar": ("منشئ أدلة التشغيل", "rtl"),
}


@pytest.mark.parametrize("lang", list(WORDS))
def test_the_builder_reads_in_its_language_and_passes_axe(
    browser: Browser, world: World, lang: str
) -> None:
    title, direction = WORDS[lang]
    page = _open(
        signed_in(browser, world, world.admin_key, lang), world, "?playbook=insurance-renewal"
    )
    expect(page.locator("html")).to_have_attribute("dir", direction)
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.locator(".drawflow-node")).to_have_count(9)  # 4 flow nodes, 5 steps
    assert_accessible(page)
    page.context.close()
