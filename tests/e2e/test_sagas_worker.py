"""A real ``crmos worker`` process killed with SIGKILL mid-run, and the ``crmos runs`` CLI."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.sagas.testing import EffectServer, Faults
from tests.e2e.conftest import CRMOS, Server, wait_until
from tests.integration.saga_support import effect

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
FAST = {
    "CRMOS__SAGAS__PLUGINS": '["crmos.sagas.testing:actions"]',
    "CRMOS__SAGAS__BACKOFF_S": "0.01",
    "CRMOS__SAGAS__POLL_INTERVAL_S": "0.02",
}


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    return {**server_env, **FAST, "CRMOS__SAGAS__CONCURRENCY": "3"}


@pytest.fixture
def store(env: dict[str, str]) -> Iterator[Container]:
    """The store the worker uses, opened in the test process to submit and read runs."""
    settings = Settings(
        home=Path(env["CRMOS__HOME"]),
        store={"url": env["CRMOS__STORE__URL"]},
        sagas={"plugins": ["crmos.sagas.testing:actions"]},
    )
    container = build(settings, migrate_store=True)
    yield container
    container.close()


class Worker:
    """``crmos worker`` as a child process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [CRMOS, "worker", "--executor-id", "worker-1"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no shutdown, no flush
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    running = Worker(env, tmp_path / "worker.log")
    yield running
    running.stop()


@pytest.mark.e2e
def test_a_worker_killed_mid_run_resumes_without_repeating_any_side_effect(
    store: Container, worker: Worker
) -> None:
    ws, _, _ = store.workspaces.create("acme")
    with EffectServer(Faults(latency_s=0.08)) as effects:
        spec = {"name": "k9", "steps": [effect(f"s{i}", effects.url) for i in range(1, 5)]}
        runs = [store.runs.start(ws.id, spec).id for _ in range(6)]
        worker.start()
        wait_until(lambda: len(effects.state()) >= 7, timeout=60, what="runs to be under way")
        worker.kill()

        statuses = [store.runs.get(ws.id, r).run.status for r in runs]
        assert "running" in statuses, f"the kill should land mid-run: {statuses}"
        applied_before_restart = len(effects.state())
        worker.start()
        wait_until(
            lambda: all(store.runs.get(ws.id, r).run.terminal for r in runs),
            timeout=90,
            what="every run to end after the restart",
        )

        assert [store.runs.get(ws.id, r).run.status for r in runs] == ["completed"] * 6
        assert applied_before_restart < 24
        assert effects.duplicates() == 0
        assert sorted(effects.live()) == sorted(f"{r}:s{i}" for r in runs for i in range(1, 5))
        assert all(e.applied == 1 for e in effects.effects.values())


def _cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [CRMOS, "runs", *args, "--json"], env=env, capture_output=True, check=True, timeout=120
    )
    return json.loads(done.stdout)


@pytest.mark.e2e
@SQLITE_ONLY
def test_crmos_serve_runs_sagas_embedded_and_the_cli_lists_shows_cancels_and_retries(
    server: Server, keys: dict[str, str], tmp_path: Path
) -> None:
    server.env.update(FAST)
    server.start()
    api = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {keys['admin_key']}"}
    )

    def status(run_id: str) -> str:
        return str(api.get(f"/api/v1/runs/{run_id}").json()["status"])

    with EffectServer() as effects, api:
        spec = {"name": "cli", "steps": [effect("a", effects.url)]}
        done_id = api.post("/api/v1/runs", json=spec).json()["id"]
        waiting = {
            "name": "wait",
            "steps": [effect("b", effects.url, await_outcome={"timeout_s": 60})],
        }
        run_file = tmp_path / "wait.yaml"
        run_file.write_text(json.dumps(waiting))
        waiting_id = _cli(server.env, "start", str(run_file))["id"]
        wait_until(lambda: status(done_id) == "completed", timeout=60, what="the first run")
        wait_until(lambda: status(waiting_id) == "waiting", timeout=60, what="the second to wait")

        listed = {r["id"]: r["status"] for r in _cli(server.env, "list")}
        assert listed == {done_id: "completed", waiting_id: "waiting"}
        shown = _cli(server.env, "show", done_id)
        assert [(e["step"], e["status"]) for e in shown["timeline"]] == [("a", "ok")]
        _cli(server.env, "cancel", waiting_id)
        wait_until(lambda: status(waiting_id) == "cancelled", timeout=60, what="the cancel")
        assert effects.live() == [f"{done_id}:a"]
        retried = _cli(server.env, "retry", waiting_id)

        assert retried["retry_of"] == waiting_id
        wait_until(lambda: status(retried["id"]) == "waiting", timeout=60, what="the retry")
        assert sorted(effects.live()) == sorted([f"{done_id}:a", f"{retried['id']}:b"])


@pytest.mark.e2e
@SQLITE_ONLY
def test_scenario_7_resumes_after_a_kill_at_a_random_moment_without_duplicates(
    env: dict[str, str], tmp_path: Path
) -> None:
    from crmos.connectors.sim import audit_simulators, start_simulators
    from tests.integration.test_sagas_scenarios import framework_agreement

    urls, stop_sims = start_simulators(latency_ms=120, seed=3)
    env = {**env, "CRMOS__CONNECTORS__BASE_URLS": json.dumps(urls)}
    settings = Settings(
        home=Path(env["CRMOS__HOME"]),
        store={"url": env["CRMOS__STORE__URL"]},
        connectors={"base_urls": urls},
    )
    container = build(settings, migrate_store=True)
    worker = Worker(env, tmp_path / "worker.log")
    try:
        ws, _, _ = container.workspaces.create("acme")
        runs = [container.runs.start(ws.id, framework_agreement()).id for _ in range(5)]
        worker.start()
        moment = random.Random().randint(1, 12)  # of the 20 side effects the runs make
        wait_until(
            lambda: audit_simulators(urls.values(), []).side_effects >= moment,
            timeout=60,
            what=f"{moment} side effects",
        )
        worker.kill()
        assert not all(container.runs.get(ws.id, r).run.terminal for r in runs)
        worker.start()
        wait_until(lambda: all(container.runs.get(ws.id, r).run.terminal for r in runs), timeout=90)

        assert [container.runs.get(ws.id, r).run.status for r in runs] == ["completed"] * 5
        audit = audit_simulators(urls.values(), [])
        assert (audit.side_effects, audit.duplicate_side_effects) == (20, 0)
        assert all(audit.open_by_reference[r] == 4 for r in runs)
    finally:
        worker.stop()
        container.close()
        stop_sims()
