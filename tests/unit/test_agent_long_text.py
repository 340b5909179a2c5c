"""Long adversarial messages are understood in about linear time (the fuzzer found minutes)."""

from __future__ import annotations

import itertools
import re
import time

from crmos.agent.entities import extract
from crmos.agent.negation import negated_groups
from crmos.agent.text import normalise

# Each took a minute or more before (quadratic regex starts, overlap checks, negator scans);
# now each takes a second or two. The bound leaves room for a busy machine.
BOUND_S = 30.0


def test_entities_of_a_long_run_of_digits_or_addresses_take_seconds_not_minutes() -> None:
    for text in ("0" * 100_000, "a.b@" * 25_000):
        started = time.perf_counter()
        extract(text)
        assert time.perf_counter() - started < BOUND_S, text[:8]


def test_overlapping_mentions_keep_the_longest_one() -> None:
    found = extract("Mail ann@example.com or pay $1,200 USD by 2026-03-01.")
    kinds = [(e.kind, e.text) for e in found]
    assert ("email", "ann@example.com") in kinds
    assert [e.start for e in found] == sorted(e.start for e in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert sum(kind == "money" for kind, _ in kinds) == 1  # $1,200 and 1,200 USD overlap


def test_negation_of_many_chinese_cues_takes_seconds_not_minutes() -> None:
    low = normalise("续约" * 50_000)
    started = time.perf_counter()
    negated_groups(low, [("renew", re.compile("续约"))])
    assert time.perf_counter() - started < BOUND_S
