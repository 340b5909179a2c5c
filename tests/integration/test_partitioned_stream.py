"""The partitioned stream on PostgreSQL: partitions by person, leases, exactly once, and the
same state as one process whatever the number of workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from crmos.bench.scaleout_state import segment_load, snapshot
from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.ingest import PartitionedRunner
from crmos.store import partitions
from crmos.store.tables_stream import PARTITIONS
from tests.conftest import prepare_migrated
from tests.integration.tiers_support import file_seqs, hot_seqs, later
from tests.pg_support import reset_pg, worker_url
from tests.polling import wait_until

pytestmark = pytest.mark.postgres


def _settings(url: str, home: Path, worker: str) -> Settings:
    return Settings(
        home=home,
        store={"url": url},
        stream={"partitioned": True, "worker_id": worker, "lease_s": 2.0, "heartbeat_s": 0.2},
    )


@pytest.fixture
def pg(tmp_path: Path, migrated_sqlite: Path) -> str:
    url = worker_url()
    reset_pg(url)
    prepare_migrated(url, migrated_sqlite)
    return url


@pytest.fixture
def crew(pg: str, tmp_path: Path) -> Iterator[list[Container]]:
    """Three containers (workers) on one PostgreSQL store, sharing one master key."""
    home = tmp_path / "home"
    built = [build(_settings(pg, home, f"w{i}"), migrate_store=True) for i in range(3)]
    yield built
    for c in built:
        c.close()


def _ingest(c: Container, messages: list[dict[str, object]]) -> None:
    ws = c.workspaces.by_name("acme") or c.workspaces.create("acme")[0]
    lines = [orjson.dumps(m) for m in messages]
    for report in c.ingest().ingest_lines(ws.id, "web", lines):
        assert not report.rejected, report.problems


def _runner(c: Container) -> PartitionedRunner:
    assert isinstance(c.stream, PartitionedRunner)
    return c.stream


def test_events_of_one_person_share_a_partition_and_persons_spread_over_many(
    crew: list[Container],
) -> None:
    c = crew[0]
    _ingest(c, segment_load(40))
    with c.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT DISTINCT coalesce(user_id, anonymous_id) AS who, part FROM events")
        ).all()
    by_person: dict[str, set[int]] = {}
    for who, part in rows:
        by_person.setdefault(who, set()).add(part)
    assert all(len(p) == 1 for p in by_person.values())
    assert len({next(iter(p)) for p in by_person.values()}) > 20


def test_workers_share_the_partitions_fairly_and_a_stopped_ones_go_to_the_others(
    crew: list[Container],
) -> None:
    a, b, c = (_runner(x) for x in crew)
    for runner in (a, b, c):
        runner.balance()

    def settled() -> bool:
        sizes = [len(r.balance()) for r in (a, b, c)]
        return sum(sizes) == PARTITIONS and max(sizes) <= -(-PARTITIONS // 3)

    wait_until(settled, timeout=20, what="three workers settling on a fair share")
    held = [r.held for r in (a, b, c)]
    assert set().union(*held) == set(range(PARTITIONS))
    assert sum(len(h) for h in held) == PARTITIONS
    c.close()  # a clean stop releases at once
    wait_until(
        lambda: len(a.balance() | b.balance()) == PARTITIONS,
        timeout=20,
        what="the stopped worker's partitions were not taken over",
    )


def test_three_workers_derive_the_same_profiles_and_edges_as_one_process(
    crew: list[Container], tmp_path: Path
) -> None:
    load = segment_load(60)
    # the reference: one process on an embedded store, the one-sequence runner
    single = build(
        Settings(home=tmp_path / "single", store={"url": f"sqlite:///{tmp_path}/one.db"}),
        migrate_store=True,
    )
    try:
        _ingest(single, load)
        single.stream.run_once()
        expected = snapshot(single.engine)
    finally:
        single.close()
    runners = [_runner(x) for x in crew]
    for r in runners:
        r.balance()
    wait_until(
        lambda: sum(len(r.balance()) for r in runners) == PARTITIONS,
        timeout=20,
        what="the partitions were not all leased",
    )
    half = len(load) // 2
    _ingest(crew[0], load[:half])
    _ingest(crew[1], load[half:])
    for _ in range(3):  # each worker's stage 2 may wait on another's stage 1
        for r in runners:
            r.run_once()
    wait_until(lambda: sum(r.run_once() for r in runners) == 0, timeout=60)
    got = snapshot(crew[0].engine)
    assert got["groups"] == expected["groups"]
    assert got["edges"] == expected["edges"]
    assert got["failures"] == expected["failures"] == 0
    with crew[0].engine.connect() as conn:
        streamed = conn.execute(
            text("SELECT count(*), count(DISTINCT event_seq) FROM stream_profiles")
        ).one()
        assert tuple(streamed) == (len(load), len(load))  # every event re-keyed exactly once
        offsets = partitions.part_offsets(conn)
    assert {c for c, _ in offsets} == {"identity", "graph", "triggers", "agent", "compliance"}


@pytest.fixture
def worker(pg: str, tmp_path: Path) -> Iterator[Container]:
    """One worker on a PostgreSQL store."""
    c = build(_settings(pg, tmp_path / "home", "w0"), migrate_store=True)
    yield c
    c.close()


def test_the_tiers_move_only_events_every_consumer_handled_in_every_partition(
    worker: Container,
) -> None:
    runner, load = _runner(worker), segment_load(12)
    _ingest(worker, load[: len(load) // 2])
    wait_until(lambda: runner.run_once() == 0, timeout=30, what="the stream reaching the head")
    handled = hot_seqs(worker.engine)
    _ingest(worker, load[len(load) // 2 :])  # identity has not handled these yet
    logged = hot_seqs(worker.engine)
    with worker.engine.begin() as conn:  # nor compliance the last two of its busiest partition
        part = conn.execute(
            text("SELECT part FROM stream_profiles GROUP BY part ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()
        rows = conn.execute(
            text("SELECT seq, event_seq FROM stream_profiles WHERE part = :p ORDER BY seq"),
            {"p": part},
        ).all()
        done = partitions.part_offsets(conn)[("compliance", part)]
        partitions.advance_many(conn, "compliance", {part: (done, rows[-3].seq)})
    behind = min(r.event_seq for r in rows[-2:])
    bound = min(behind, logged[len(handled)]) - 1

    assert worker.tiers.status()["consumed_up_to_seq"] == bound
    report = later(worker, days=4).run_once()

    assert report.moved == len([s for s in logged if s <= bound]) > 0
    assert file_seqs(worker.engine) == [s for s in logged if s <= bound]
    assert hot_seqs(worker.engine) == [s for s in logged if s > bound]
    assert behind in hot_seqs(worker.engine)
