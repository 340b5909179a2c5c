"""Edge validity and the adjacency after merges: ended edges leave queries and audiences;
two edges joining the same pair after a merge keep their adjacency rows until both end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from crmos.bootstrap import Container
from crmos.graph import close_edge, create_audience, follow_identity, members, neighbourhood
from crmos.graph.expiry import ExpirySweeper, sweep
from crmos.graph.pending import Change, EdgeBuffer
from crmos.identity import merge_profiles, profile_of, split_profile
from crmos.store.tables_graph import graph_adjacency, graph_edges
from tests.integration.graph_support import group, send

DAY_MS = 86_400_000
NOW = datetime.now(UTC).replace(microsecond=0)


def _attended(user: str, occasion: str, days_ago: float) -> dict[str, object]:
    when = NOW - timedelta(days=days_ago)
    return {
        "type": "track",
        "userId": user,
        "event": "Webinar Attended",
        "properties": {"occasion_id": occasion},
        "timestamp": when.isoformat(),
    }


def _pid(container: Container, ws: str, user: str) -> str:
    with container.engine.connect() as conn:
        pid = profile_of(conn, ws, "user_id", user)
    assert pid is not None
    return pid


def _near(container: Container, ws: str, node: str, type_: str) -> set[str]:
    with container.engine.connect() as conn:
        answer = neighbourhood(conn, ws, node, hops=1, edge_types=[type_])
    return {n.node for n in answer.nodes}


def _co_attended(container: Container, ws: str) -> list[tuple[str, str, int | None]]:
    e = graph_edges.c
    with container.engine.connect() as conn:
        rows = conn.execute(
            select(e.src, e.dst, e.valid_to_ms).where(e.workspace_id == ws, e.type == "co_attended")
        ).all()
    return [(r.src, r.dst, r.valid_to_ms) for r in rows]


def test_co_attendance_lasts_thirty_days_after_the_latest_meeting(container: Container) -> None:
    ws, _, _ = container.workspaces.create("expiry")
    send(
        container,
        ws.id,
        _attended("old-a", "w-old", 45),
        _attended("old-b", "w-old", 44),  # ended 14 days ago: kept, but out of queries
        _attended("new-a", "w-new", 3),
        _attended("new-b", "w-new", 2),
    )
    old_a, new_a = _pid(container, ws.id, "old-a"), _pid(container, ws.id, "new-a")
    new_b = _pid(container, ws.id, "new-b")
    ends = {frozenset((s, d)): valid_to for s, d, valid_to in _co_attended(container, ws.id)}
    assert len(ends) == 2 and all(valid_to is not None for valid_to in ends.values())
    recent = ends[frozenset((f"profile:{new_a}", f"profile:{new_b}"))]
    assert recent == NOW.timestamp() * 1000 + 28 * DAY_MS  # the latest meeting + 30 days
    assert _near(container, ws.id, f"profile:{old_a}", "co_attended") == set()
    assert _near(container, ws.id, f"profile:{new_a}", "co_attended") == {f"profile:{new_b}"}
    send(container, ws.id, _attended("new-b", "w-new", 1))  # meeting again moves the end
    later = {frozenset((s, d)): v for s, d, v in _co_attended(container, ws.id)}
    moved = later[frozenset((f"profile:{new_a}", f"profile:{new_b}"))]
    assert moved is not None and moved - recent == DAY_MS


def test_a_sweep_takes_ended_edges_out_of_queries_and_audiences_then_purges_them(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("sweep")
    send(container, ws.id, _attended("kit", "w1", 5), _attended("lee", "w1", 4))
    kit = _pid(container, ws.id, "kit")
    with container.engine.begin() as conn:
        audience = create_audience(conn, ws.id, "met someone", "edges.co_attended > 0", "test")
    with container.engine.connect() as conn:
        assert members(conn, ws.id, audience.id)["total"] == 2
    (_, _, valid_to), *_ = _co_attended(container, ws.id)
    assert valid_to is not None
    with container.engine.begin() as conn:
        assert sweep(conn, ws.id, now=valid_to - 1) == 0  # not yet
        assert sweep(conn, ws.id, now=valid_to) == 2
    assert _near(container, ws.id, f"profile:{kit}", "co_attended") == set()
    with container.engine.connect() as conn:
        assert members(conn, ws.id, audience.id)["total"] == 0
    assert len(_co_attended(container, ws.id)) == 1  # the record and its evidence stay
    with container.engine.begin() as conn:
        sweep(conn, ws.id, retention_days=30, now=valid_to + 31 * DAY_MS)
    assert _co_attended(container, ws.id) == []


def _adjacency(container: Container, ws: str, node: str, type_: str) -> int:
    a = graph_adjacency.c
    with container.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(a.workspace_id == ws, a.node == node, a.type == type_)
            ).scalar_one()
        )


def test_two_edges_sharing_a_pair_after_a_merge_keep_it_until_both_end(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("shared-pair")
    send(container, ws.id, group("pat", "acme", "Acme"), group("pat-app", "acme", "Acme"))
    pat, app = _pid(container, ws.id, "pat"), _pid(container, ws.id, "pat-app")
    with container.engine.begin() as conn:
        merge_profiles(conn, ws.id, pat, app, reason="same person", evidence={"by": "test"})
        follow_identity(conn, ws.id)
    assert _near(container, ws.id, "account:acme", "works_at") == {f"profile:{pat}"}
    with container.engine.begin() as conn:
        split_profile(conn, ws.id, app, reason="wrong merge")
        follow_identity(conn, ws.id)
    # Moving the merged edge back must not take the survivor's own (identical) row with it.
    assert _near(container, ws.id, f"profile:{pat}", "works_at") == {"account:acme"}
    assert _near(container, ws.id, f"profile:{app}", "works_at") == {"account:acme"}
    assert _near(container, ws.id, "account:acme", "works_at") == {
        f"profile:{pat}",
        f"profile:{app}",
    }
    with container.engine.begin() as conn:
        merge_profiles(conn, ws.id, pat, app, reason="same after all", evidence={"by": "test"})
        follow_identity(conn, ws.id)
        closed = close_edge(
            conn, ws.id, f"profile:{pat}", "works_at", "account:acme", reason="left", actor="t"
        )
    assert len(closed) == 2  # both edges now joining the pair end together
    assert _adjacency(container, ws.id, f"profile:{pat}", "works_at") == 0
    assert _adjacency(container, ws.id, "account:acme", "works_at") == 0


def test_the_serving_sweeper_unlinks_what_ended_in_every_workspace(container: Container) -> None:
    ws, _, _ = container.workspaces.create("sweeper")
    week = 7 * DAY_MS
    long_ago = int(NOW.timestamp() * 1000) - 2 * week
    ends = ("profile:x", "profile:x", "profile:y", "profile:y")
    change = Change(ends, "co_attended", 1.0, "max", long_ago, "co@1", (1,), None, week)
    with container.engine.begin() as conn:  # written while in force, ended a week ago
        buffer = EdgeBuffer(conn, ws.id, keep=20, now=long_ago)
        buffer.add([change])
        buffer.flush()
    assert _adjacency(container, ws.id, "profile:x", "co_attended") == 1
    ExpirySweeper(container.engine, every_s=60, retention_days=0).run_once()
    assert _adjacency(container, ws.id, "profile:x", "co_attended") == 0
    assert len(_co_attended(container, ws.id)) == 1
