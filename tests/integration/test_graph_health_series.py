"""Graph health over time: event loss per source, match conflicts and inference failures per
rule, one rate per time bucket, through ``GET /api/v1/health/graph/series``."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.store.tables_graph import graph_rule_stats
from tests.integration.conftest import Tenant
from tests.integration.graph_support import quiet_client, send, track
from tests.integration.identity_support import identify

HOUR_MS = 3_600_000


def _bucket(at_ms: int) -> int:
    return at_ms - at_ms % HOUR_MS


def _rates(series: list[list[float | None]]) -> dict[int, float | None]:
    return {int(at): rate for at, rate in series if rate is not None}


def test_each_rate_is_charted_per_hour_per_source_and_per_rule_with_gaps_where_nothing_ran(
    container: Container, tenant: Tenant
) -> None:
    api: TestClient = quiet_client(container)
    ws = tenant.workspace_id
    now = int(time.time() * 1000)
    three_ago, two_ago = now - 3 * HOUR_MS, now - 2 * HOUR_MS
    with container.engine.begin() as conn:
        rows = [(ws, "old-feed", "received", "", 10), (ws, "old-feed", "rejected", "bad", 4)]
        container.log.add_counts(conn, rows, at_ms=three_ago)
        row = {"workspace_id": ws, "bucket_ms": two_ago - two_ago % 60_000}
        conn.execute(
            graph_rule_stats.insert(),
            [
                row | {"rule": "co_attendance", "outcome": "evaluated", "count": 4},
                row | {"rule": "co_attendance", "outcome": "failed", "count": 1},
            ],
        )
    send(container, ws, track("ann", "Page Viewed", 0))
    params = {"window_s": 6 * 3600, "step_s": 3600}
    answer = api.get("/api/v1/health/graph/series", params=params, headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["step_s"] == 3600
    loss = body["event_loss"]
    assert len(loss["all"]) == len(loss["by_source"]["test"]) >= 6
    assert _rates(loss["by_source"]["old-feed"]) == {_bucket(three_ago): 0.4}
    assert _rates(loss["by_source"]["test"]) == {_bucket(now): 0.0}
    assert _rates(loss["all"]) == {_bucket(three_ago): 0.4, _bucket(now): 0.0}
    failures = body["inference_failures"]
    rule = _rates(failures["by_rule"]["co_attendance"])
    assert rule.pop(_bucket(two_ago)) == 0.25
    assert set(rule.values()) <= {0.0}  # this hour's event may have been evaluated, not failed
    assert set(body["match_conflicts"]) == {"all", "by_source"}
    assert len(body["match_conflicts"]["all"]) == len(loss["all"])


def test_a_step_that_cuts_the_window_into_too_many_buckets_is_refused_as_problem_json(
    container: Container, tenant: Tenant
) -> None:
    api = quiet_client(container)
    params = {"window_s": 2 * 86_400, "step_s": 60}
    answer = api.get("/api/v1/health/graph/series", params=params, headers=tenant.bearer)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


def test_match_conflicts_are_charted_at_the_time_of_the_events_that_claimed_the_identifier(
    container: Container, tenant: Tenant
) -> None:
    api = quiet_client(container)
    phone = "+49 151 23456789"
    two_days_ago = time.time() - 2 * 86_400
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(two_days_ago))
    events = [
        identify(source, user_id=f"p{n}", phone=phone, company={"id": f"firm-{n}"})
        | {"timestamp": stamp}
        for n, source in enumerate(("call_centre", "app", "pos"))
    ]
    send(container, tenant.workspace_id, *events)
    params = {"window_s": 7 * 86_400, "step_s": 86_400}
    body = api.get("/api/v1/health/graph/series", params=params, headers=tenant.bearer).json()
    conflicts = body["match_conflicts"]
    day = int(two_days_ago * 1000) - int(two_days_ago * 1000) % 86_400_000
    assert set(_rates(conflicts["all"])) == {day}  # not today, when the replay ran
    assert 0 < _rates(conflicts["all"])[day] <= 1
    claimed = {s for s, points in conflicts["by_source"].items() if any(r for _, r in points)}
    assert claimed and claimed <= {"app", "pos"}
    hour = api.get("/api/v1/health/graph", params={"window_s": 3600}, headers=tenant.bearer)
    week = api.get("/api/v1/health/graph", params={"window_s": 7 * 86_400}, headers=tenant.bearer)
    assert hour.json()["match_conflicts"]["conflicts"] == 0  # the events are two days old
    assert 0 < week.json()["match_conflicts"]["rate"] <= 1
