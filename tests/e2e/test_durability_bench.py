"""``crmos bench durability`` in small: a real ``crmos serve`` killed under load, alone and beside a
``crmos worker`` (scale-out), once each."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.e2e.conftest import CRMOS

KEYS = {"kills", "acked", "lost", "duplicated", "integrity_errors", "skipped_events",
        "max_recovery_s"}  # fmt: skip


@pytest.mark.e2e
@pytest.mark.timeout(600)  # five process starts: ~1 min idle, minutes on a loaded machine
def test_a_sigkill_per_topology_loses_duplicates_and_skips_no_acknowledged_event() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS")}  # SQLite only
    done = subprocess.run(
        [CRMOS, "bench", "durability", "--quick", "--json", "--kills", "2"],
        env=env,
        capture_output=True,
        timeout=580,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    figures = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert set(figures) >= KEYS and set(figures["stores"]["sqlite"]) >= KEYS
    topologies = figures["stores"]["sqlite"]["topologies"]
    assert set(topologies) == {"single", "scale-out"}
    assert all(set(t) >= KEYS and t["kills"] == 1 for t in topologies.values())
    assert figures["postgresql_skipped"]  # said, not silently left out
    assert figures["kills"] == 2 and figures["acked"] > 0
    zero = {k: figures[k] for k in ("lost", "duplicated", "integrity_errors", "skipped_events")}
    assert zero == dict.fromkeys(zero, 0), json.dumps(figures)
    assert figures["max_recovery_s"] > 0
