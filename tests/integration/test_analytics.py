"""Analytics on the real store: CLV and likelihoods fitted from ingested events, stored, served
at ``/api/v1/profiles/{id}/value``, read by playbook conditions, recorded as Decisions, erased."""

from __future__ import annotations

import html
import random
from typing import Any

from fastapi.testclient import TestClient

from crmos.analytics import AnalyticsEraser
from crmos.bootstrap import Container
from crmos.core.datamap import Person
from crmos.identity import profile_of
from crmos.playbooks.profiles import activation, facts_of
from crmos.store import decisions_of
from crmos.triggers import Condition
from crmos.web import create_app
from crmos.web.profile_data import gather
from tests.integration.conftest import Tenant, sign_in
from tests.integration.playbook_support import ingest

DAYS = 120


def _world(seed: int = 3, people: int = 40) -> list[dict[str, Any]]:
    """People active for a while, then some stop; buyers buy at their own rate."""
    rng, out = random.Random(seed), []
    for n in range(people):
        user, rate = f"user-{n:03d}", rng.uniform(0.1, 0.8)
        stops = DAYS if n % 3 else rng.randint(20, DAYS - 5)  # a third go quiet
        buys = rng.uniform(0.05, 0.4) if n % 4 else 0.0
        out.append(_msg("identify", user, DAYS, n, traits={"company": "Acme"} if n % 2 else {}))
        for day in range(DAYS, DAYS - stops, -1):
            if rng.random() < rate:
                out.append(_msg("page", user, day, n, name="Home"))
            if rng.random() < buys:
                props = {"revenue": round(rng.uniform(20, 200), 2), "currency": "EUR"}
                out.append(_msg("track", user, day, n, event="Order Completed", properties=props))
    return out


def _msg(kind: str, user: str, days_ago: int, n: int, **body: Any) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC) - timedelta(days=days_ago, hours=n % 12)
    ident = f"{kind}-{user}-{days_ago}-{body.get('event', body.get('name', ''))}"
    return {"type": kind, "userId": user, "timestamp": at.isoformat(), "messageId": ident, **body}


def _profile(container: Container, tenant: Tenant, user: str) -> str:
    with container.engine.connect() as conn:
        pid = profile_of(conn, tenant.workspace_id, "user_id", user)
    assert pid is not None
    return str(pid)


def test_a_refresh_scores_every_profile_and_serves_value_with_reasons(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    ingest(container, tenant.workspace_id, *_world())
    assert container.analytics is not None
    report = container.analytics.refresh(tenant.workspace_id)
    assert report["profiles"] == 40
    assert set(report["clv"]["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert "churn" in report["propensity"]["auc"], report["propensity"]
    assert set(report["propensity"]["splits"]["churn"]) == {"train", "dev", "held_out"}

    buyer = _profile(container, tenant, "user-001")
    answer = client.get(f"/api/v1/profiles/{buyer}/value", headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    value = answer.json()
    assert value["clv"]["clv"] > 0
    assert value["clv"]["currency"] == "EUR"
    assert 0 < value["clv"]["p_alive"] <= 1
    churn = value["propensity"]["churn"]
    assert 0 <= churn["probability"] <= 1
    for reason in churn["reasons"]:
        assert reason["words"].endswith(f"{reason['effect']:+.2f}")
    assert churn["scored_by"] == report["propensity"]["scorer"]["churn"]
    assert "renewal" not in value["propensity"]  # the world has no renewals, and says so
    assert value["unavailable"]["renewal"].startswith("no renewal model: too few outcomes")

    with container.engine.connect() as conn:
        recorded = decisions_of(conn, tenant.workspace_id, buyer)
        shown = gather(container, conn, tenant.workspace_id, buyer)["value"]  # the console 360
    assert any(d.kind == "prediction" and "churn" in d.reason for d in recorded)
    assert any(d.version and "churn:" in d.version for d in recorded)  # model or baseline
    assert shown == value
    console = TestClient(create_app(container))
    sign_in(console, tenant.admin_key)
    page = console.get(f"/profiles/{buyer}")
    assert page.status_code == 200
    assert value["unavailable"]["renewal"] in html.unescape(page.text)


def test_playbook_conditions_read_clv_p_alive_and_propensity(
    container: Container, tenant: Tenant
) -> None:
    ingest(container, tenant.workspace_id, *_world())
    assert container.analytics is not None
    container.analytics.refresh(tenant.workspace_id)
    buyer = _profile(container, tenant, "user-001")
    never = _profile(container, tenant, "user-000")  # n % 4 == 0: never buys
    with container.engine.connect() as conn:
        facts = facts_of(conn, [buyer, never])
    rich = Condition.compile("analytics.clv > 0.0 && analytics.p_alive > 0.0")
    churn = Condition.compile("analytics.propensity.churn >= 0.0")
    assert rich.evaluate(activation(None, facts[buyer]))
    assert not rich.evaluate(activation(None, facts[never]))  # no purchase: no CLV, false
    assert churn.evaluate(activation(None, facts[never]))


def test_an_erased_person_has_no_value_left(
    container: Container, client: TestClient, tenant: Tenant
) -> None:
    ingest(container, tenant.workspace_id, *_world())
    assert container.analytics is not None
    container.analytics.refresh(tenant.workspace_id)
    buyer = _profile(container, tenant, "user-001")
    with container.engine.begin() as conn:
        erased = AnalyticsEraser().erase(conn, Person(tenant.workspace_id, (buyer,)))
    assert erased.counts == {"analytics_values": 1}
    answer = client.get(f"/api/v1/profiles/{buyer}/value", headers=tenant.bearer)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
