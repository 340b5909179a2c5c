"""A move or a compaction SIGKILLed at any step loses no event and shows none twice, on SQLite
and PostgreSQL: after every kill, each event is in hot or in exactly one listed file, and the
readers return each once; a last run finishes the work and the orphan sweep leaves only listed
files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from crmos.bootstrap import Container
from crmos.store import EventQuery
from crmos.store.tiers import consumed_bound
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.tiers_support import file_seqs, hot_seqs, later, listed, parquet_files
from tests.polling import wait_until

REPO = Path(__file__).resolve().parents[2]
EVENTS_PER_WORKSPACE = 300
BATCH = 20  # 30 moves, then 6 cold archives of at most 5 batches each
# Where each kill lands, in order: the child always moves everything before it compacts, so the
# first eight land in moves (using at most 12 of the 30 batches) and the last four in
# compaction (at most 3 of the 6 archives).
KILLS = [
    *[("written", 1), ("commit", 1), ("moved", 2), ("written", 3), ("start", 2)],
    *[("commit", 3), ("written", 2), ("commit", 2)],
    *[("compacted", 1), ("written", 1), ("commit", 1), ("compacted", 1)],
]


def _ingest(client: TestClient, tenant: Tenant, prefix: str) -> None:
    batch = [
        {
            "type": "track",
            "userId": f"{prefix}-{i % 7}",
            "event": "Viewed",
            "messageId": f"{prefix}{i}",
        }
        for i in range(EVENTS_PER_WORKSPACE)
    ]
    answer = client.post("/v1/batch", headers=tenant.basic, json={"batch": batch})
    assert answer.status_code == 200, answer.text


def _run_until(url: str, root: str, step: str, nth: int) -> bool:
    """Start the child and SIGKILL it right after its ``nth`` ``step``; False when it finished
    all its work first."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.tiers_child", url, root, str(BATCH)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen = 0
    try:
        for line in child.stdout:  # blocks on the child's next step, no sleeping
            if line.strip() == "done":
                return False
            seen += line.strip() == step
            if seen == nth:
                os.kill(child.pid, signal.SIGKILL)
                return True
        return False
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.close()


def _handled(container: Container, newest: int) -> bool:
    """Whether every consumer has handled ``newest``, as the child's mover reads the offsets
    (no offset recorded: nothing bounds a move)."""
    with container.engine.connect() as conn:
        bound = consumed_bound(conn, ())
    return bound is None or bound >= newest


def _assert_each_event_once(container: Container, every: list[int], workspaces: list[str]) -> None:
    hot, warm = hot_seqs(container.engine), file_seqs(container.engine)
    assert len(warm) == len(set(warm)), "an event is in two listed files"
    assert not set(hot) & set(warm), "an event is both in hot and in a listed file"
    assert sorted(hot + warm) == every, "an event was lost"
    read = [
        e.seq
        for ws in workspaces
        for e in container.reader.events(EventQuery(ws, limit=10 * EVENTS_PER_WORKSPACE))
    ]
    assert sorted(read) == every


def test_a_sigkill_at_any_step_of_moving_or_compacting_loses_nothing_and_duplicates_nothing(
    client: TestClient, container: Container, tenant: Tenant
) -> None:
    other = make_tenant(container, "globex")
    _ingest(client, tenant, "a")
    _ingest(client, other, "b")
    every = hot_seqs(container.engine)
    # The child moves only what every consumer has handled: wait for this process's stream to
    # handle all 600 events, or the child runs out of due batches before a planned kill.
    wait_until(lambda: _handled(container, every[-1]), what="every consumer to handle the events")
    workspaces = [tenant.workspace_id, other.workspace_id]
    root = container.tiers.files.url("")
    for step, nth in KILLS:
        killed = _run_until(container.settings.store.url, root, step, nth)
        assert killed, f"the child finished before its {nth}. {step}"
        _assert_each_event_once(container, every, workspaces)

    finish = later(container, days=40, orphan_grace_s=0)
    finish.run_once()
    _assert_each_event_once(container, every, workspaces)
    assert hot_seqs(container.engine) == []
    assert parquet_files(container.tiers.files) == {r.url for r in listed(container.engine)}
    assert {r.tier for r in listed(container.engine)} == {"cold"}
