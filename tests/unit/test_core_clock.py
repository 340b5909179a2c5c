"""The one clock: pinned, it moves every business timestamp, the graph's included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, create_engine, select

from crmos.core import clock
from crmos.core.clock import from_ms, now_ms, pinned, to_ms, utcnow
from crmos.graph import add_manual_edge, close_edge, ensure_node
from crmos.graph.edges import edge_views
from crmos.store.tables_graph import graph_adjacency, graph_edges, graph_nodes

MARCH = datetime(2026, 3, 1, 9, 30, 0, 123_000, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    tables = [graph_nodes, graph_edges, graph_adjacency]
    graph_nodes.metadata.create_all(engine, tables=tables)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_a_pinned_clock_fixes_now_and_now_ms_until_the_block_ends() -> None:
    with pinned(MARCH) as fixed:
        assert utcnow() == MARCH
        assert now_ms() == to_ms(MARCH) == 1_772_357_400_123
        fixed.advance(DAY)
        assert utcnow() == MARCH + DAY
        fixed.advance(500)
        assert now_ms() == to_ms(MARCH + DAY) + 500
        fixed.set(0)
        assert utcnow() == datetime(1970, 1, 1, tzinfo=UTC)
    assert abs(now_ms() - time.time() * 1000) < 5_000
    assert utcnow().tzinfo is UTC


def test_pins_nest_and_the_outer_pin_comes_back() -> None:
    with pinned(MARCH):
        with pinned(to_ms(MARCH + DAY)):
            assert utcnow() == MARCH + DAY
        assert utcnow() == MARCH
    assert clock._pin is None


def test_a_pin_refuses_a_time_without_a_zone() -> None:
    with pytest.raises(TypeError, match="timezone-aware"), pinned(datetime(2026, 3, 1)):
        pass  # pragma: no cover - the pin refuses before the block runs
    assert clock._pin is None


def test_milliseconds_convert_both_ways_exactly() -> None:
    # A float timestamp would make 0.123 s into 122.99999 ms for some times; this must not.
    for ms in (0, 1, 1_772_357_400_123, 4_102_444_800_999):
        assert to_ms(from_ms(ms)) == ms
    assert from_ms(1_772_357_400_123) == MARCH


def test_the_graph_takes_its_timestamps_from_the_pinned_clock(conn: Connection) -> None:
    with pinned(MARCH) as fixed:
        ensure_node(conn, "ws_1", "profile:a", "Ada")
        ensure_node(conn, "ws_1", "profile:b", "Bo")
        fixed.advance(DAY)
        add_manual_edge(
            conn, "ws_1", "profile:a", "knows", "profile:b", weight=1.0, reason="met", actor="t"
        )
        fixed.advance(DAY)
        close_edge(conn, "ws_1", "profile:a", "knows", "profile:b", reason="left", actor="t")
    node = conn.execute(select(graph_nodes).where(graph_nodes.c.id == "profile:a")).one()
    assert node.created_ms == to_ms(MARCH)
    edge = conn.execute(select(graph_edges)).one()
    assert edge.valid_from_ms == to_ms(MARCH + DAY)
    assert edge.valid_to_ms == edge.updated_ms == to_ms(MARCH + 2 * DAY)


def test_an_edge_is_in_force_until_the_pinned_clock_reaches_its_end(conn: Connection) -> None:
    with pinned(MARCH + 30 * DAY):  # the edge ends a month after March 1st
        ensure_node(conn, "ws_1", "profile:a")
        ensure_node(conn, "ws_1", "profile:b")
        add_manual_edge(
            conn, "ws_1", "profile:a", "knows", "profile:b", weight=1.0, reason="met", actor="t"
        )
        close_edge(conn, "ws_1", "profile:a", "knows", "profile:b", reason="ends", actor="t")
    pair = [("profile:a", "knows", "profile:b")]
    for at, live in ((MARCH, True), (MARCH + 30 * DAY, False), (MARCH + 31 * DAY, False)):
        with pinned(at):
            assert bool(edge_views(conn, "ws_1", pair)) is live, at
