"""Hot, warm and cold tiers on SQLite and PostgreSQL: events leave hot for Parquet once every
consumer handled them and the hot window passed, and every reader of history still finds them
(events API, 360 timeline, access export, dry-run); compaction, retention and erasure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, update
from typer.testing import CliRunner

from crmos.bootstrap import Container
from crmos.cli.main import app as cli
from crmos.store import EventQuery, TierFiles, Tiers, partitions, scan_parquet, set_offset
from crmos.store.tables import events
from crmos.store.tables_stream import stream_profiles
from tests.integration.conftest import Tenant
from tests.integration.erasure_support import (
    EMAIL,
    USER_ID,
    drain,
    erase,
    identify,
    leftovers,
    report_of,
    stores,
    track,
)
from tests.integration.playbook_support import example
from tests.integration.tiers_support import (
    file_seqs,
    hot_count,
    hot_seqs,
    later,
    listed,
    parquet_files,
)


def _person(client: TestClient, container: Container, tenant: Tenant) -> None:
    identify(client, tenant.basic)
    track(client, tenant, "Viewed Pricing", 4, plan="pro")
    drain(container)


def _events(client: TestClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/events", params=params, headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def _timeline(client: TestClient, tenant: Tenant) -> list[tuple[str, str]]:
    found = client.get(
        "/api/v1/profiles", params={"identifier": f"user_id:{USER_ID}"}, headers=tenant.bearer
    ).json()["data"]
    answer = client.get(
        f"/api/v1/profiles/{found[0]['id']}/timeline",
        params={"kind": "event"},
        headers=tenant.bearer,
    )
    assert answer.status_code == 200, answer.text
    return [(i["id"], i["title"]) for i in answer.json()["data"]]


def _export(client: TestClient, tenant: Tenant) -> list[dict[str, Any]]:
    made = client.post(
        "/api/v1/dsr",
        headers=tenant.bearer,
        json={"kind": "access", "identifier": {"type": "user_id", "value": USER_ID}},
    ).json()
    answer = client.get(f"/api/v1/dsr/{made['id']}/export", headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_events_past_the_hot_window_move_to_parquet_and_every_reader_still_finds_them(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    before = _events(client, tenant, user_id=USER_ID)
    newest = _events(client, tenant, newest_first=True, limit=3)
    timeline, export = _timeline(client, tenant), _export(client, tenant)
    text = example("renewal_risk.yaml")
    dry_run = container.playbooks.dry_run(tenant.workspace_id, text, 0).events_scanned

    assert later(container, days=1).run_once().moved == 0  # inside the 72 h window
    report = later(container, days=4).run_once()

    assert report.moved == 5 and hot_count(container.engine) == 0
    assert [r.tier for r in listed(container.engine)] == ["warm"]
    assert before[0]["traits"]["email"] == EMAIL  # decrypted from the file's sealed fields
    assert _events(client, tenant, user_id=USER_ID) == before
    assert _events(client, tenant, newest_first=True, limit=3) == newest
    assert _events(client, tenant, after=before[1]["seq"], limit=2) == before[2:4]
    assert _timeline(client, tenant) == timeline
    assert _export(client, tenant) == export
    assert container.playbooks.dry_run(tenant.workspace_id, text, 0).events_scanned == dry_run
    assert dry_run == 5


def test_a_move_never_takes_events_a_consumer_has_not_handled(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    seqs = hot_seqs(container.engine)
    # Consumers of other processes, the slowest two events behind (not this process's own:
    # its live stream would handle the events again and move them back to the head).
    with container.engine.begin() as conn:
        set_offset(conn, "a-slow-consumer-of-another-process", seqs[-3])
        set_offset(conn, "a-consumer-of-another-process", seqs[-2])

    assert later(container, days=4).run_once().moved == len(seqs) - 2
    assert hot_seqs(container.engine) == seqs[-2:]
    assert file_seqs(container.engine) == seqs[:-2]


def test_warm_files_compact_into_cold_archives_and_each_event_is_read_once(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    before = _events(client, tenant)
    later(container, days=4).run_once()
    track(client, tenant, "Viewed Docs", 3)
    drain(container)
    second = later(container, days=4).run_once()
    assert second.moved == 3 and len(listed(container.engine, "warm")) == 2
    warm_files = parquet_files(container.tiers.files)

    report = later(container, days=40).run_once()

    [archive] = listed(container.engine, "cold")
    assert report.compacted_files == 2 and archive.rows == 8
    assert listed(container.engine, "warm") == []
    assert parquet_files(container.tiers.files) == {archive.url}  # the inputs are gone
    assert not warm_files & {archive.url}
    everything = _events(client, tenant)
    assert everything[:5] == before and len({e["seq"] for e in everything}) == 8


def test_retention_deletes_cold_archives_past_cold_days_and_warm_files_when_cold_is_off(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    later(container, days=40).run_once()
    assert len(listed(container.engine, "cold")) == 1

    assert later(container, days=400, cold_ms=365 * 86_400_000).run_once().expired_files == 1
    assert listed(container.engine) == [] and _events(client, tenant) == []

    track(client, tenant, "Viewed Docs", 2)
    drain(container)
    later(container, days=4).run_once()
    assert later(container, days=40, cold=False).run_once().expired_files == 1
    assert parquet_files(container.tiers.files) == set()


def test_erasure_rewrites_warm_and_cold_files_without_the_person_and_the_scan_proves_it(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    later(container, days=40).run_once()  # cold archive
    track(client, tenant, "Viewed Docs", 2)
    other = {"userId": "someone-else", "messageId": "other-1", "event": "Viewed Docs"}
    assert client.post("/v1/track", headers=tenant.basic, json=other).status_code == 200
    drain(container)
    later(container, days=4).run_once()  # warm file
    assert {r.tier for r in listed(container.engine)} == {"warm", "cold"}
    urls = [r.url for r in listed(container.engine)]
    assert {u for u, _ in scan_parquet(urls, [USER_ID])} == set(urls)  # the scan can fail

    report = report_of(erase(client, tenant))

    assert stores(report)["tier_files"]["count"] == 2
    urls = [r.url for r in listed(container.engine)]
    assert scan_parquet(urls, [USER_ID, EMAIL]) == []
    assert leftovers(container) == []
    assert [e["userId"] for e in _events(client, tenant)] == ["someone-else"]
    assert file_seqs(container.engine) == [e["seq"] for e in _events(client, tenant)]


def test_an_erasure_that_cannot_rewrite_a_file_hides_the_person_at_once_and_finishes_later(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    later(container, days=4).run_once()
    [row] = listed(container.engine)
    blocker = Path(row.url + ".tmp")
    blocker.mkdir()  # a directory where the rewrite writes its temporary file: it fails
    try:
        done = erase(client, tenant)
        assert done["status"] == "incomplete"  # the proof still finds the file's copy
        assert _events(client, tenant) == []  # hidden at once
        assert container.tiers.status()["pending_erasures"] == 1
    finally:
        blocker.rmdir()

    assert later(container, days=4).run_once().rewritten_files == 1
    assert container.tiers.status()["pending_erasures"] == 0
    assert scan_parquet([row.url], [USER_ID, EMAIL]) == []


def test_tiers_live_in_any_fsspec_url(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    _person(client, container, tenant)
    before = _events(client, tenant)
    base = container.tiers
    remote = Tiers(base.engine, TierFiles("memory://crmos-test/tiers"), base.policy, base.consumers)
    shifted = later(container, days=4)
    moved = Tiers(base.engine, remote.files, base.policy, base.consumers, clock=shifted.clock)

    assert moved.run_once().moved == 5
    assert [r.url.split("://")[0] for r in listed(container.engine)] == ["memory"]
    assert _events(client, tenant) == before


def test_the_cli_shows_and_moves_the_tiers(
    client: TestClient, container: Container, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    _person(client, container, tenant)
    settings = container.settings
    monkeypatch.setenv("CRMOS__HOME", str(settings.home))
    monkeypatch.setenv("CRMOS__STORE__URL", settings.store.url)
    monkeypatch.setenv("CRMOS__TIERS__HOT_HOURS", "0.000001")
    runner = CliRunner()

    moved = runner.invoke(cli, ["tiers", "move", "--json"])
    status = runner.invoke(cli, ["tiers", "status"])

    assert moved.exit_code == 0, moved.output
    assert '"moved": 5' in moved.output
    assert status.exit_code == 0 and "warm" in status.output
    assert [e["seq"] for e in container.reader.find(EventQuery(tenant.workspace_id))] == [
        e["seq"] for e in _events(client, tenant)
    ]
    assert hot_count(container.engine) == 0


def test_on_the_partitioned_stream_a_move_takes_what_every_consumer_handled_in_each_partition(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    # The partitioned stream's offsets and profile stream, written through the store's own
    # functions on both stores (the runner itself runs on PostgreSQL only: see
    # test_partitioned_stream). Five events in two log partitions, two profile partitions.
    _person(client, container, tenant)
    s = hot_seqs(container.engine)
    names = list(container.tiers.consumers)
    with container.engine.begin() as conn:
        conn.execute(update(events).values(part=1).where(events.c.seq <= s[2]))
        conn.execute(update(events).values(part=2).where(events.c.seq > s[2]))
        partitions.ensure_offsets(conn, names)
        partitions.advance_many(conn, names[0], {1: (0, s[2]), 2: (0, s[3])})  # s[4]: not yet
        rows = [(7, s[0]), (7, s[1]), (8, s[2]), (8, s[3])]
        partitions.append_profiles(conn, [_keyed(part, seq, tenant) for part, seq in rows])
        p = sorted(_profile_seqs(conn))
        for name in names[1:]:  # the last consumer has not handled s[3] in partition 8
            to_8 = p[2] if name == names[-1] else p[3]
            partitions.advance_many(conn, name, {7: (0, p[1]), 8: (0, to_8)})
    assert later(container, days=4, partitioned=True).run_once().moved == 3
    assert hot_seqs(container.engine) == s[3:]
    with container.engine.begin() as conn:
        partitions.advance_many(conn, names[-1], {8: (p[2], p[3])})
    assert later(container, days=1, partitioned=True).run_once().moved == 0  # hot window
    assert later(container, days=4, partitioned=True).run_once().moved == 1
    assert hot_seqs(container.engine) == s[4:]
    assert file_seqs(container.engine) == s[:4]


def _keyed(part: int, seq: int, tenant: Tenant) -> dict[str, Any]:
    """A profile-stream row as identity appends it."""
    return {"part": part, "event_seq": seq, "workspace_id": tenant.workspace_id, "profile_id": "p"}


def _profile_seqs(conn: Connection) -> list[int]:
    return list(conn.execute(select(stream_profiles.c.seq)).scalars())
