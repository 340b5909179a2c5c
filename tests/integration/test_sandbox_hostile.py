"""Issue 17, the sandbox: a hostile component (a real package with the entry point) tries, one
attempt per run, to read an undeclared field, phone a host it did not declare (the seed's map
component sending locations to a CDN), write outside its scratch directory, spin the CPU and
allocate 2 GB. Each attempt is stopped, its step fails with the reason, and the attempt is in
the audit chain and recorded as a Decision. All on the real path: event -> trigger -> firing ->
durable run -> sandboxed component.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.store import decisions_of, verify_audit
from crmos.store.tables_records import audit_log
from tests.integration.connector_support import Recorder
from tests.integration.market_support import hostile_site
from tests.integration.playbook_support import identify, ingest, track
from tests.integration.saga_support import start_fast_engine, wait_until

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@dataclass
class World:
    container: Container
    workspace: str
    cdn: Recorder
    outside: Path


@pytest.fixture(scope="module")
def hostile_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with hostile_site(tmp_path_factory) as site:
        yield site


@pytest.fixture
def world(hostile_installed: Path, migrated_store_url: str, tmp_path: Path) -> Iterator[World]:
    cdn = Recorder(answer=b"ok").start()
    settings = Settings(home=tmp_path / "home", store={"url": migrated_store_url})
    container = start_fast_engine(build(settings, migrate_store=True), step_timeout_s=30.0)
    ws, _, _ = container.workspaces.create("acme")
    container.playbooks.warm_sandbox(["testing.hostile"])
    container.playbooks.market.review(ws.id, "testing.hostile", "approved",
                                      "approved for the sandbox test", "dpo@acme")  # fmt: skip
    try:
        yield World(container, ws.id, cdn, tmp_path / "outside.txt")
    finally:
        container.close()
        cdn.stop()


def _run_attempt(world: World, attempt: str, target: str) -> dict[str, Any]:
    c, ws = world.container, world.workspace
    text = f"""
id: map-{attempt}
description: a map widget on the renewal page
trigger: {{pattern: {{event: {{event: Map Opened}}}}}}
steps:
  - {{id: map, component: testing.hostile, with: {{attempt: {attempt}, target: "{target}"}}}}
"""
    c.playbooks.publish(ws, text, "revops@acme", "map widget")
    ingest(c, ws, identify("u1", email="u1@example.com", phone="+4915112345678"))
    ingest(c, ws, track("u1", "Map Opened", 1))

    def ended() -> dict[str, Any] | None:
        fired = [f for f in c.playbooks.firings(ws, f"map-{attempt}") if f["run_id"]]
        run = c.runs.get(ws, fired[0]["run_id"]).run if fired else None
        return fired[0] | {"run": run} if run is not None and run.terminal else None

    found: dict[str, Any] = wait_until(ended, 60, f"the run of attempt {attempt} to end")
    return found


ATTEMPTS = {
    "field": ("field", "tried to read the undeclared field traits.phone"),
    "network": ("network", "not a declared host"),
    "write": ("filesystem", "outside its scratch directory"),
    "cpu": ("cpu", "used more than its 1 s of CPU"),
    "memory": ("memory", "tried to allocate past its memory limit"),
}


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_each_hostile_attempt_is_stopped_fails_its_step_and_is_audited_and_a_decision(
    world: World, attempt: str
) -> None:
    target = {"network": world.cdn.url.removeprefix("http://"), "write": str(world.outside)}
    firing = _run_attempt(world, attempt, target.get(attempt, ""))
    kind, words = ATTEMPTS[attempt]
    run = firing["run"]
    assert run.status in ("failed", "compensated"), run.status
    if attempt == "cpu" and "(time)" in (run.reason or ""):
        # On a loaded machine the spin may get less than its CPU second in the 5 s allowed:
        # then the deadline stops it first (both are the CPU attempt being stopped).
        kind, words = "time", "ran past its time limit of 5 s"
    assert f"stopped by the sandbox ({kind})" in (run.reason or "") and words in run.reason
    assert not world.cdn.seen and not world.outside.exists()  # nothing left the sandbox
    c, ws = world.container, world.workspace
    with c.engine.connect() as conn:
        entries = conn.execute(
            audit_log.select().where(audit_log.c.workspace_id == ws,
                                     audit_log.c.action == "component.sandbox_refused")
        ).all()  # fmt: skip
        decisions = [d for d in decisions_of(conn, ws, firing["profile_id"])
                     if d.kind == "component.sandbox_refused"]  # fmt: skip
        assert list(verify_audit(conn, ws)) == []
    assert [e.subject for e in entries] == [run.id]
    [decision] = decisions
    assert decision.rule == "testing.hostile" and decision.version == "1.0.0"
    assert words in decision.reason and decision.inputs["kind"] == kind


def test_a_well_behaved_call_of_the_same_component_completes_after_the_sandbox(
    world: World,
) -> None:
    firing = _run_attempt(world, "none", "")
    assert firing["run"].status == "completed", firing["run"].reason
