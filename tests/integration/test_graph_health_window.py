"""Graph health over a time window: intake keeps its counters per minute as well as in total,
so event loss (like match conflicts and inference failures) covers only the window asked."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crmos.bootstrap import Container
from crmos.graph import expiry
from crmos.ingest import intake_stats
from crmos.store.tables import intake_buckets
from crmos.store.tables_graph import graph_rule_failures, graph_rule_stats
from tests.conftest import METRICS_AUTH
from tests.integration.conftest import Tenant
from tests.integration.graph_support import quiet_client, send, track

HOUR_MS = 3_600_000


@pytest.fixture
def api(container: Container) -> TestClient:
    """The app, its stream drained by the tests only."""
    return quiet_client(container)


def _old_losses(container: Container, ws: str, hours_ago: float) -> None:
    """Intake figures of a source, written ``hours_ago`` (received 10, rejected 4)."""
    at = int(time.time() * 1000 - hours_ago * HOUR_MS)
    rows = [(ws, "old-feed", "received", "", 10), (ws, "old-feed", "rejected", "bad_type", 4)]
    with container.engine.begin() as conn:
        container.log.add_counts(conn, rows, at_ms=at)


def test_event_loss_counts_only_the_window_and_the_totals_keep_everything(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    _old_losses(container, tenant.workspace_id, hours_ago=3)
    send(container, tenant.workspace_id, track("ann", "Page Viewed", 0))
    totals = {s.source: s for s in intake_stats(container.log, tenant.workspace_id)}
    recent = {s.source: s for s in intake_stats(container.log, tenant.workspace_id, 3600)}
    assert totals["old-feed"].received == 10 and totals["old-feed"].rejected == {"bad_type": 4}
    assert "old-feed" not in recent and recent["test"].received == 1
    hour = api.get("/api/v1/health/graph", params={"window_s": 3600}, headers=tenant.bearer)
    day = api.get("/api/v1/health/graph", params={"window_s": 86_400}, headers=tenant.bearer)
    assert hour.status_code == day.status_code == 200
    assert hour.json()["event_loss"] == {"rate": 0.0, "rejected": 0, "received": 1}
    assert day.json()["event_loss"] == {"rate": round(4 / 11, 6), "rejected": 4, "received": 11}
    stats = api.get("/api/v1/intake/stats", headers=tenant.bearer).json()["data"]
    assert {s["source"]: s["received"] for s in stats} == {"old-feed": 10, "test": 1}


def test_inference_failures_of_an_older_minute_leave_a_shorter_window(
    api: TestClient, container: Container, tenant: Tenant
) -> None:
    send(container, tenant.workspace_id, track("bob", "Webinar Attended", 0))  # no occasion_id
    old = int(time.time() * 1000) - 2 * HOUR_MS
    row = {"workspace_id": tenant.workspace_id, "bucket_ms": old - old % 60_000}
    with container.engine.begin() as conn:
        conn.execute(
            graph_rule_stats.insert(),
            [
                row | {"rule": "co_attendance", "outcome": "evaluated", "count": 50},
                row | {"rule": "co_attendance", "outcome": "failed", "count": 50},
            ],
        )
    hour = api.get("/api/v1/health/graph", params={"window_s": 3600}, headers=tenant.bearer)
    day = api.get("/api/v1/health/graph", params={"window_s": 86_400}, headers=tenant.bearer)
    assert hour.json()["inference_failures"]["failed"] == 1
    assert day.json()["inference_failures"]["failed"] == 51
    assert hour.json()["inference_failures"]["rate"] < day.json()["inference_failures"]["rate"]
    metrics = api.get("/metrics", headers=METRICS_AUTH).text
    assert (
        f'crmos_graph_event_loss_rate{{window_s="3600",workspace="{tenant.workspace_id}"}} 0.0'
        in metrics
    )


def test_minutes_older_than_the_longest_window_are_deleted_and_newer_ones_kept(
    container: Container, tenant: Tenant
) -> None:
    ws, day_ms = tenant.workspace_id, 24 * HOUR_MS
    now = int(time.time() * 1000)
    with container.engine.begin() as conn:
        for days_ago in (120, 91, 89):
            at = now - days_ago * day_ms
            container.log.add_counts(conn, [(ws, f"feed-{days_ago}", "received", "", 1)], at)
            conn.execute(
                graph_rule_stats.insert(),
                {"workspace_id": ws, "bucket_ms": at, "rule": f"r{days_ago}"}
                | {"outcome": "evaluated", "count": 1},
            )
            conn.execute(
                graph_rule_failures.insert(),
                {"workspace_id": ws, "rule": f"r{days_ago}", "seq": 1, "error": "x"}
                | {"created_ms": at},
            )
    send(container, ws, track("ann", "Page Viewed", 0))  # intake's minute: the old ones go
    with container.engine.begin() as conn:
        expiry.sweep(conn, ws)  # the serving process's sweep: graph's old minutes go
        kept = {r.source for r in conn.execute(select(intake_buckets.c.source))}
        rules = {r.rule for r in conn.execute(select(graph_rule_stats.c.rule))}
        failed = {r.rule for r in conn.execute(select(graph_rule_failures.c.rule))}
    assert kept == {"feed-89", "test"}
    assert "r89" in rules and not rules & {"r120", "r91"}  # the stream adds this minute's
    assert failed == {"r89"}
    totals = {s.source for s in intake_stats(container.log, ws)}
    assert {"feed-120", "feed-91", "feed-89", "test"} <= totals  # the totals keep everything
