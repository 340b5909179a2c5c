"""Scenarios 4 and 5 through the stream: relation inference and role reinforcement."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crmos.bootstrap import Container
from crmos.graph import neighbourhood, scores_of, shortest_path, top_accounts
from crmos.identity import profile_of
from crmos.store.tables_graph import graph_rule_failures
from tests.integration.graph_support import group, send, track


def _pid(container: Container, ws: str, user: str) -> str:
    with container.engine.connect() as conn:
        pid = profile_of(conn, ws, "user_id", user)
    assert pid is not None
    return pid


def test_co_attendance_and_funding_news_make_a_weighted_potential_partner_edge_with_evidence(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("acme-graph")
    send(
        container,
        ws.id,
        group("ann", "acme", "Acme Ltd"),
        group("bob", "globex", "Globex"),
        track("ann", "Livestream Attended", 0, occasion_id="summit-26", occasion_name="Summit"),
        track("bob", "Livestream Attended", 12, occasion_id="summit-26"),
        track("news", "Funding Announced", 20, account_id="acme", amount=5_000_000),
    )
    with container.engine.connect() as conn:
        answer = neighbourhood(
            conn, ws.id, "account:acme", hops=1, edge_types=["potential_partner"]
        )
    assert [n.node for n in answer.nodes] == ["account:globex"]
    edge = answer.edges[0]
    assert edge.type == "potential_partner"
    assert edge.weight == pytest.approx(0.6)
    assert edge.rule == "funding_partnership@1"
    assert len(edge.evidence["events"]) >= 3  # the funding news and both attendances
    assert edge.evidence["notes"][0]["contact"].startswith("profile:")


def test_attendances_more_than_thirty_days_apart_make_no_partnership(container: Container) -> None:
    ws, _, _ = container.workspaces.create("far-apart")
    send(
        container,
        ws.id,
        group("cat", "initech", "Initech"),
        group("dan", "umbrella", "Umbrella"),
        track("cat", "Webinar Attended", 0, occasion_id="w1"),
        track("dan", "Webinar Attended", 45, occasion_id="w1"),
        track("news", "Funding Announced", 46, account_id="initech"),
    )
    with container.engine.connect() as conn:
        answer = neighbourhood(
            conn, ws.id, "account:initech", hops=1, edge_types=["potential_partner"]
        )
    assert answer.nodes == []


def test_queries_list_paths_and_top_accounts_with_evidence(container: Container) -> None:
    ws, _, _ = container.workspaces.create("paths")
    send(
        container,
        ws.id,
        group("eve", "hooli", "Hooli"),
        group("fay", "piedpiper", "Pied Piper"),
        track("eve", "Meeting Attended", 1, occasion_id="m1"),
        track("fay", "Meeting Attended", 2, occasion_id="m1"),
    )
    eve = _pid(container, ws.id, "eve")
    with container.engine.connect() as conn:
        path = shortest_path(conn, ws.id, f"profile:{eve}", "account:piedpiper")
        accounts = top_accounts(conn, ws.id, eve)
    assert path.path is not None and path.path[0] == f"profile:{eve}"
    assert path.path[-1] == "account:piedpiper" and len(path.path) == 3
    assert all(e.evidence["events"] for e in path.edges)
    assert [n.node for n in accounts.nodes][:2] == ["account:hooli", "account:piedpiper"]


def test_api_docs_dwell_and_repeated_integration_expansion_raise_the_role_by_the_step(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("roles")
    send(
        container,
        ws.id,
        track("gil", "Docs Dwell", 0, path="/docs/api/auth", seconds=120),
        track("gil", "Section Expanded", 0, section="integration"),
        track("gil", "Docs Dwell", 0.1, path="/docs/api/webhooks", seconds=95),
        track("gil", "Section Expanded", 0.1, section="integration"),
    )
    gil = _pid(container, ws.id, "gil")
    with container.engine.connect() as conn:
        first = scores_of(conn, ws.id, gil, at_ms=None)
    role = first[0]
    assert role["name"] == "technical_decision_maker"
    assert role["stored"] == pytest.approx(0.37)
    assert role["evidence"][0]["dwell_s"] == 215 and role["evidence"][0]["repeats"] == 2
    again = [
        message
        for i in range(3)
        for message in (
            track("gil", "Docs Dwell", 0.2 + i / 10, path="/docs/api", seconds=250),
            track("gil", "Section Expanded", 0.2 + i / 10, section="integration"),
            track("gil", "Section Expanded", 0.2 + i / 10, section="integration"),
        )
    ]
    send(container, ws.id, *again)  # three more reinforcements: 0.37 * 4 is capped at 1
    with container.engine.connect() as conn:
        capped = scores_of(conn, ws.id, gil, at_ms=None)[0]
        later = scores_of(conn, ws.id, gil, at_ms=capped["updated_ms"] + 30 * 86_400_000)[0]
    assert capped["stored"] == pytest.approx(1.0)
    assert later["confidence"] == pytest.approx(0.5, rel=1e-3)  # one half-life later


def test_a_rule_failing_on_bad_data_is_counted_and_the_stream_goes_on(container: Container) -> None:
    ws, _, _ = container.workspaces.create("bad-data")
    send(
        container,
        ws.id,
        track("hal", "Webinar Attended", 0),  # no occasion_id
        track("ivy", "Webinar Attended", 0, occasion_id="w9"),
    )
    with container.engine.connect() as conn:
        failures = conn.execute(select(graph_rule_failures)).all()
        answer = neighbourhood(conn, ws.id, "occasion:w9", hops=1, edge_types=["attended"])
    assert [f.rule for f in failures] == ["co_attendance"]
    assert "occasion_id" in failures[0].error
    assert len(answer.nodes) == 1
