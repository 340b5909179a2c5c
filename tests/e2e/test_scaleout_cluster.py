"""Scale-out as it is deployed: two API nodes and three stream workers, real processes on one
PostgreSQL store, a worker SIGKILLed mid-run, and the same state one process derives."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from crmos.bench.scaleout import kill_run, node_env, reference
from crmos.bench.scaleout_state import segment_load
from tests.conftest import prepare_migrated
from tests.e2e.conftest import CRMOS
from tests.pg_support import reset_pg, worker_url

pytestmark = pytest.mark.postgres


def test_a_worker_killed_under_load_split_over_two_api_nodes_costs_seconds_and_no_data(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    url = worker_url()
    reset_pg(url)
    prepare_migrated(url, migrated_sqlite)
    messages = segment_load(120, seed=21)
    expected = reference(tmp_path / "single", messages)
    (tmp_path / "cluster").mkdir()

    found = kill_run(url, tmp_path / "cluster", messages, expected)

    assert found["duplicates"] == 0
    assert found["lost"] == 0
    assert found["same_state_as_one_process"], found
    assert found["lease_failover_s"] < 10
    status = subprocess.run(
        [CRMOS, "status", "--json"],
        env=node_env(tmp_path / "cluster", url, "api"),
        capture_output=True,
        check=True,
        timeout=120,
    )
    report = json.loads(status.stdout)
    assert report["mode"] == "partitioned"
    assert sum(report["lag"].values()) == 0
    assert len(report["leases"]) == 64
