"""The console's component page acts as a person would: a compliance reviewer sees a component
pending review with its app-store permissions, approves it with a reason, and the API sees the
approval; a read-only key sees no review buttons. axe-core finds no serious issue."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine

from crmos.bootstrap import build
from crmos.core.settings import Settings
from crmos.store.tables_records import audit_log
from crmos.store.workspaces import COMPLIANCE_SCOPES
from tests.e2e.conftest import Server
from tests.e2e.console_support import assert_accessible, browser, start_patiently
from tests.integration.market_support import build_wheel, entry, hostile_site, write_catalog

__all__ = ["browser"]  # fixture used by name

pytestmark = pytest.mark.e2e


@dataclass
class Shop:
    server: Server
    admin_key: str
    reviewer_key: str
    read_key: str
    site: Path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A served workspace with the hostile component installed (pending review)."""
    with hostile_site(tmp_path_factory) as site:
        root = tmp_path_factory.mktemp("shop")
        url = f"sqlite:///{root}/crmos.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
        path = [p for p in (os.environ.get("PYTHONPATH"), str(site)) if p]
        folder = tmp_path_factory.mktemp("catalog")
        wheel = build_wheel(folder)
        # The second entry lists the same wheel under a name the package does not declare.
        lookalike = entry(wheel, name="testing.lookalike", description="A lookalike")
        catalog, key = write_catalog(folder, [entry(wheel), lookalike])
        # The console installs into the site folder (on the server's path), never the venv.
        env.update(CRMOS__HOME=str(root / "home"), CRMOS__STORE__URL=url,
                   PYTHONPATH=os.pathsep.join(path), CRMOS__PLAYBOOKS__CATALOG=str(catalog),
                   CRMOS__PLAYBOOKS__CATALOG_KEY=key,
                   CRMOS__PLAYBOOKS__COMPONENTS_DIR=str(site))  # fmt: skip
        container = build(Settings(home=root / "home", store={"url": url}), migrate_store=True)
        try:
            ws, _, admin = container.workspaces.create("acme")
            reviewer = container.workspaces.issue_key(ws.id, "dpo", COMPLIANCE_SCOPES, "ui")
            reader = container.workspaces.issue_key(ws.id, "reader", ("read",), "ui")
        finally:
            container.close()
        server = Server(env)
        start_patiently(server)
        try:
            yield Shop(server, admin.secret, reviewer.secret, reader.secret, site)
        finally:
            server.stop()


def _signed_in(browser: Browser, shop: Shop, key: str, lang: str = "en") -> Page:
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{shop.server.url}/?lang={lang}#key={key}")
    expect(page.locator("#t-accepted")).to_be_visible()
    return page


def test_a_reviewer_approves_a_pending_component_with_a_reason_and_the_api_sees_it(
    browser: Browser, shop: Shop
) -> None:
    page = _signed_in(browser, shop, shop.reviewer_key)
    page.goto(f"{shop.server.url}/builder")
    palette = page.get_by_role("navigation", name="Palette")
    expect(palette.get_by_role("button", name="notify.email", exact=True)).to_be_visible()
    expect(palette.get_by_role("button", name="testing.hostile", exact=True)).to_have_count(0)
    page.goto(f"{shop.server.url}/components")
    expect(page.get_by_role("heading", name="Components", level=1)).to_be_visible()
    card = page.get_by_role("article", name="testing.hostile pending review")
    expect(card).to_contain_text("reads: email; may call: maps.example.test")
    assert_accessible(page)
    card.get_by_label("Reason").fill("map tiles host checked with the vendor")
    card.get_by_role("button", name="Approve: testing.hostile").click()
    expect(page.get_by_role("status")).to_have_text("Done.")
    expect(page.get_by_role("article", name="testing.hostile approved")).to_be_visible()
    answer = httpx.get(f"{shop.server.url}/api/v1/components/testing.hostile",
                       headers={"Authorization": f"Bearer {shop.admin_key}"}).json()  # fmt: skip
    assert answer["status"] == "approved" and answer["reviewer"] == "dpo"
    page.goto(f"{shop.server.url}/builder")
    palette = page.get_by_role("navigation", name="Palette")
    expect(palette.get_by_role("button", name="testing.hostile", exact=True)).to_be_visible()
    page.context.close()


def test_a_read_only_key_sees_permissions_but_no_review_buttons(
    browser: Browser, shop: Shop
) -> None:
    page = _signed_in(browser, shop, shop.read_key, "de")
    page.goto(f"{shop.server.url}/components")
    expect(page.get_by_role("heading", name="Komponenten", level=1)).to_be_visible()
    expect(page.get_by_role("article", name="notify.email").first).to_contain_text(
        "may call: email"
    )
    expect(page.get_by_role("button", name="Approve: testing.hostile")).to_have_count(0)
    expect(page.get_by_role("button", name="Installieren: testing.hostile")).to_have_count(0)
    expect(page.get_by_role("button", name="Entfernen: testing.hostile")).to_have_count(0)
    page.context.close()


def test_an_admin_installs_from_the_catalog_and_removes_a_component_in_the_console(
    browser: Browser, shop: Shop
) -> None:
    page = _signed_in(browser, shop, shop.admin_key)
    page.goto(f"{shop.server.url}/components")
    page.get_by_role("button", name="Install: testing.lookalike").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "index.components[1].name: the wheel's crmos.components entry points are"
    )
    page.goto(f"{shop.server.url}/components")
    row = page.get_by_role("row").filter(has_text="A map widget")
    expect(row).to_contain_text("reads: email; may call: maps.example.test")
    assert_accessible(page)  # with the install and remove forms
    row.get_by_role("button", name="Install: testing.hostile").click()
    expect(page.get_by_role("status")).to_contain_text("Installed testing.hostile: pending review")
    assert (shop.site / "crmos_hostile" / "__init__.py").is_file()
    card = page.get_by_role("article", name="testing.hostile")
    expect(card).to_contain_text("reads: email; may call: maps.example.test")
    card.get_by_role("button", name="Remove: testing.hostile").click()
    expect(page.get_by_role("status")).to_contain_text("Removed testing.hostile")
    assert not (shop.site / "crmos_hostile").exists()
    assert not list(shop.site.glob("crmos_hostile-*.dist-info"))
    engine = create_engine(shop.server.env["CRMOS__STORE__URL"])
    try:
        with engine.connect() as conn:
            actions = {r.action: r.subject for r in conn.execute(audit_log.select())}
    finally:
        engine.dispose()
    assert actions["component.install"] == actions["component.remove"] == "testing.hostile"
    page.context.close()
