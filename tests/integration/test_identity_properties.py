"""Properties of merges and splits: undoing every merge, in any order, restores every profile."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crmos.bootstrap import Container
from crmos.core.errors import ValidationError
from crmos.identity import merge_profiles, split_profile
from crmos.store.tables_identity import identity_merges
from tests.integration.identity_support import identify, pid, send, view

_names = itertools.count()

merges = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=6)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pairs=merges, order=st.randoms(use_true_random=False))
def test_undoing_every_merge_in_any_order_restores_every_profile(
    container: Container, pairs: list[tuple[int, int]], order: object
) -> None:
    ws = container.workspaces.create(f"p{next(_names)}")[0].id
    people = [
        identify("app", user_id=f"u{n}", email=f"p{n}@example.com", name=f"P{n}", n=n)
        for n in range(5)
    ]
    send(container, ws, *people)
    ids = [str(pid(container, ws, "user_id", f"u{n}")) for n in range(5)]
    before = [view(container, ws, p) for p in ids]
    done = []
    with container.engine.begin() as conn:
        for a, b in pairs:
            try:
                done.append(merge_profiles(conn, ws, ids[a], ids[b], reason="test", evidence={}))
            except ValidationError as exc:  # one profile already: refused, nothing changed
                assert "already resolves" in str(exc)
    order.shuffle(done)  # type: ignore[attr-defined]
    with container.engine.begin() as conn:
        for merge_id in done:
            m = identity_merges.c
            other = conn.execute(select(m.other_id).where(m.id == merge_id)).scalar_one()
            split_profile(conn, ws, other, merge_id=merge_id, reason="undo")
    for n, original in enumerate(before):
        assert pid(container, ws, "email", f"p{n}@example.com") == ids[n]
        after = view(container, ws, ids[n])
        assert after["traits"] == original["traits"]
        assert after["identifiers"] == original["identifiers"]
        assert after["merged_ids"] == []
