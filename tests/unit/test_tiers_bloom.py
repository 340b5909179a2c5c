"""The people filter of a tier file: never misses a person it holds, rarely claims one it lacks."""

from __future__ import annotations

import pyarrow as pa

from crmos.store.tiers_bloom import may_hold, people_filter


def test_a_file_filter_finds_every_person_in_it_and_few_who_are_not() -> None:
    users = [f"user-{i}" for i in range(5000)]
    anons = [None if i % 2 else f"anon-{i}" for i in range(5000)]
    people = people_filter(pa.table({"user_id": users, "anonymous_id": anons}))

    assert all(may_hold(people, [u]) for u in users)
    assert all(may_hold(people, [a]) for a in anons if a is not None)
    strangers = sum(may_hold(people, [f"stranger-{i}"]) for i in range(20_000))
    assert strangers < 20_000 * 0.02
    assert may_hold(people, ["stranger-x", users[7]])  # any of several


def test_a_file_without_a_filter_may_hold_anyone() -> None:
    assert may_hold(None, ["anyone"]) and may_hold(b"", ["anyone"])
