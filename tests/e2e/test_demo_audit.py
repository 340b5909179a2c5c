"""Scenario 10 proves from the audit chain that an entry of the erasure survives it: the
request's entries name the pseudonymous profile id only, and the chain verifies; an entry
edited afterwards turns the scenario failed with the position named."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import CRMOS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _copy(seeded_demo: Path, root: Path) -> dict[str, str]:
    shutil.copytree(seeded_demo, root, dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS__HOME=str(root / "home"), CRMOS__STORE__URL=f"sqlite:///{root}/crmos.db")
    return env | {"CRMOS_CONFIG": str(root / "absent.toml")}


def _erasure(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [CRMOS, "demo", "scenarios", "--json"], env=env, capture_output=True, timeout=300
    )
    scenarios = json.loads(done.stdout)["scenarios"]
    found: dict[str, Any] = next(s for s in scenarios if s["number"] == 10)
    return found


def test_the_erasure_scenario_reads_its_surviving_audit_entries_and_a_verified_chain(
    seeded_demo: Path, tmp_path: Path
) -> None:
    env = _copy(seeded_demo, tmp_path)
    ok = _erasure(env)
    assert ok["status"] == "ok", ok
    assert "(dsr.received, " in ok["happened"] and " dsr.completed)" in ok["happened"], ok
    # under the profile id, or the pseudonym of a person identity never saw: no identifier
    assert re.search(r" under (prf|sub)_\w+, chain of \d+ entries intact", ok["happened"]), ok

    engine = create_engine(f"sqlite:///{tmp_path}/crmos.db")
    with engine.begin() as conn:  # someone edits an entry of the chain after the fact
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE position = 1"))
    engine.dispose()
    broken = _erasure(env)
    assert broken["status"] == "failed"
    assert "the audit chain does not verify: entry 1 was edited" in broken["reason"], broken
