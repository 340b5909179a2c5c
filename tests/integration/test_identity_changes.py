"""Identity's published joints: the change feed by sequence and the live-profile reads."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Connection, text

from crmos.bootstrap import Container
from crmos.identity import (
    ProfilesMerged,
    ProfileSplit,
    changes_since,
    live_profiles,
    merge_profiles,
    resolve,
    split_profile,
    traits_of,
    tree_roots,
)
from tests.integration.identity_support import identify, pid, send
from tests.polling import wait_until


def _two(container: Container, name: str) -> tuple[str, str, str]:
    ws = container.workspaces.create(name)[0].id
    send(container, ws, identify("app", user_id="ann", email="ann@example.com", plan="pro"))
    send(container, ws, identify("web", anon="cookie-1", email="bo@example.com"))
    ann, bo = pid(container, ws, "user_id", "ann"), pid(container, ws, "anonymous_id", "cookie-1")
    assert ann and bo and ann != bo
    return ws, ann, bo


def _merge(conn: Connection, ws: str, survivor: str, other: str) -> str:
    return merge_profiles(conn, ws, survivor, other, reason="same person", evidence={"t": 1})


def test_merges_and_splits_are_published_in_order_and_a_cursor_reads_each_once(
    container: Container,
) -> None:
    ws, ann, bo = _two(container, "acme")
    with container.engine.begin() as conn:
        merge_id = _merge(conn, ws, ann, bo)
    with container.engine.begin() as conn:
        split_profile(conn, ws, bo, reason="wrong")
    with container.engine.connect() as conn:
        merged, split = changes_since(conn, ws, 0)
        assert changes_since(conn, ws, merged.seq) == [split]
        assert changes_since(conn, ws, split.seq) == []
    assert isinstance(merged, ProfilesMerged) and isinstance(split, ProfileSplit)
    assert (merged.merge_id, merged.survivor_id, merged.other_id) == (merge_id, ann, bo)
    assert (split.merge_id, split.survivor_id, split.restored_id) == (merge_id, ann, bo)
    assert merged.seq < split.seq


def test_a_merge_the_stitcher_makes_is_published_too(container: Container) -> None:
    ws, ann, bo = _two(container, "acme")
    send(container, ws, identify("web", user_id="ann", anon="cookie-1"))  # links the two
    with container.engine.connect() as conn:
        [merged] = changes_since(conn, ws, 0)
    assert isinstance(merged, ProfilesMerged) and {merged.survivor_id, merged.other_id} == {ann, bo}


def test_each_workspace_reads_only_its_own_changes(container: Container) -> None:
    ws1, ann1, bo1 = _two(container, "one")
    ws2, ann2, bo2 = _two(container, "two")
    with container.engine.begin() as conn:
        _merge(conn, ws2, ann2, bo2)
        _merge(conn, ws1, ann1, bo1)
    with container.engine.connect() as conn:
        [first] = changes_since(conn, ws1, 0)
        [second] = changes_since(conn, ws2, 0)
    assert (first.workspace_id, second.workspace_id) == (ws1, ws2)


# PostgreSQL only: SQLite has one writer at a time, so its numbers always follow commit order.
@pytest.mark.parametrize(
    "store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_change_committed_after_a_higher_numbered_one_is_not_skipped(
    container: Container,
) -> None:
    ws1, ann1, bo1 = _two(container, "one")
    ws2, ann2, bo2 = _two(container, "two")
    late = container.engine.connect()
    try:
        with late.begin():
            _merge(late, ws1, ann1, bo1)  # numbered first, committed last
            with container.engine.begin() as conn:
                _merge(conn, ws2, ann2, bo2)
            with container.engine.connect() as conn:
                [other] = changes_since(conn, ws2, 0)
                assert changes_since(conn, ws1, 0) == []
        with container.engine.connect() as conn:
            [mine] = changes_since(conn, ws1, 0)  # the cursor of ws1 is still 0
    finally:
        late.close()
    assert mine.seq < other.seq


def test_a_second_writer_of_a_workspace_numbers_its_change_after_the_first_commits(
    container: Container,
) -> None:
    ws, ann, bo = _two(container, "acme")
    send(container, ws, identify("app", user_id="cy", email="cy@example.com"))
    cy = pid(container, ws, "user_id", "cy")
    assert cy
    done: list[Any] = []

    def second() -> None:
        with container.engine.begin() as conn:
            done.append(_merge(conn, ws, ann, cy))

    first = container.engine.connect()
    try:
        with first.begin():
            _merge(first, ws, ann, bo)
            writer = threading.Thread(target=second)
            writer.start()
            if container.engine.dialect.name == "postgresql":
                wait_until(lambda: _waiting_on_a_lock(container), 10, "the second writer to wait")
            with container.engine.connect() as conn:
                assert changes_since(conn, ws, 0) == []
            assert done == []
        writer.join(30)
    finally:
        first.close()
    assert len(done) == 1
    with container.engine.connect() as conn:
        one, two = changes_since(conn, ws, 0)
    assert isinstance(one, ProfilesMerged) and isinstance(two, ProfilesMerged)
    assert (one.other_id, two.other_id, two.merge_id) == (bo, cy, done[0])


def _waiting_on_a_lock(container: Container) -> bool:
    with container.engine.connect() as conn:
        waiting = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        ).scalar_one()
    return bool(waiting)


def test_live_reads_resolve_merged_profiles_and_decode_traits(container: Container) -> None:
    ws, ann, bo = _two(container, "acme")
    with container.engine.begin() as conn:
        _merge(conn, ws, ann, bo)
    with container.engine.connect() as conn:
        assert resolve(conn, ws, bo) == ann and resolve(conn, ws, "prf_none") is None
        assert traits_of(conn, ws, ann)["plan"] == "pro"
        assert tree_roots(conn, ws, [bo]) == {ann: ann, bo: ann}
        [live] = live_profiles(conn, [ann]).values()
    assert live.id == ann and live.traits["plan"] == "pro" and not live.marketing_suppressed
