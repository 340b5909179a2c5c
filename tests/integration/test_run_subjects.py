"""A run's subject profile: runs started through the API (not by a playbook firing) show in
their profile's timeline and are found per profile; migration 0017 fills the subject in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from crmos.api import create_app
from crmos.bootstrap import Container
from crmos.core.settings import Settings
from crmos.sagas.testing import EffectServer, HttpEffect
from crmos.store import create_store_engine, migrate
from crmos.store.migrate import downgrade
from crmos.store.tables_sagas import saga_runs
from tests.integration.conftest import Tenant
from tests.integration.identity_support import identify
from tests.integration.saga_support import effect, wait_until

ACTION = "testing.http_effect"


def _spec(profile_id: str | None, url: str = "http://127.0.0.1:9") -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "framework", "steps": [effect("credit", url)]}
    return spec | ({"profile_id": profile_id} if profile_id else {})


@pytest.fixture
def actions(container: Container) -> Container:
    if ACTION not in container.runs.registry:
        container.runs.registry.add(HttpEffect())
    return container


def test_runs_acting_for_a_profile_are_found_newest_first_open_or_all_in_its_workspace_only(
    actions: Container,
) -> None:
    runs = actions.runs
    ws = actions.workspaces.create("acme")[0].id
    first = runs.start(ws, _spec("prf_a"))
    runs.start(ws, _spec("prf_b"))
    runs.start(ws, _spec(None))
    last = runs.start(ws, _spec("prf_a"))
    runs.journal.set_status(first.id, "completed")

    assert [r.id for r in runs.about(ws, ["prf_a"])] == [last.id, first.id]
    assert [r.id for r in runs.about(ws, ["prf_a"], open_only=True)] == [last.id]
    assert {r.profile_id for r in runs.about(ws, ["prf_a", "prf_b"])} == {"prf_a", "prf_b"}
    assert runs.about(ws, ["prf_a"], until_ms=first.created_ms - 1) == []
    assert runs.get(ws, last.id).run.as_dict()["profile_id"] == "prf_a"
    other = actions.workspaces.create("globex")[0].id
    assert runs.about(other, ["prf_a"]) == [] and runs.about(ws, []) == []


@pytest.fixture
def effects() -> Iterator[EffectServer]:
    with EffectServer() as server:
        yield server


@pytest.fixture
def api(container: Container) -> Iterator[TestClient]:
    """The app with its embedded engine and the test action, as in ``crmos serve``."""
    fast = {"plugins": ["crmos.sagas.testing:actions"], "backoff_s": 0.01, "poll_interval_s": 0.02}
    container.settings.sagas = container.settings.sagas.model_copy(update=fast)
    with TestClient(create_app(container)) as client:
        yield client


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_run_started_through_the_api_shows_in_its_subjects_timeline_with_its_steps(
    api: TestClient, container: Container, tenant: Tenant, effects: EffectServer
) -> None:
    sent = api.post("/v1/batch", json={"batch": [identify("app", "u-1")]}, headers=tenant.basic)
    assert sent.status_code == 200, sent.text
    container.stream.run_once()
    found = api.get("/api/v1/profiles", params={"identifier": "user_id:u-1"}, headers=tenant.bearer)
    pid = found.json()["data"][0]["id"]
    started = api.post("/api/v1/runs", json=_spec(pid, effects.url), headers=tenant.bearer)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    assert started.json()["profile_id"] == pid

    def ended() -> bool:
        run = api.get(f"/api/v1/runs/{run_id}", headers=tenant.bearer).json()
        return run["status"] == "completed"

    wait_until(ended, what=f"run {run_id} to complete")
    page = api.get(f"/api/v1/profiles/{pid}/timeline", headers=tenant.bearer).json()
    runs = [e for e in page["data"] if e["kind"] == "run"]
    assert [(e["id"], e["title"], e["detail"]) for e in runs] == [
        (run_id, "framework", "completed")
    ]
    steps = [e for e in page["data"] if e["kind"] == "step"]
    assert [(e["title"], e["links"]["run_id"]) for e in steps] == [("credit", run_id)]
    only_runs = api.get(
        f"/api/v1/profiles/{pid}/timeline", params={"kind": "run"}, headers=tenant.bearer
    ).json()
    assert {e["kind"] for e in only_runs["data"]} == {"run"}


def _run_row(rid: str, plan: dict[str, Any]) -> dict[str, object]:
    return {"id": rid, "workspace_id": "w", "name": "n", "status": "queued"} | {
        "plan": orjson.dumps(plan).decode(), "trace_id": "t", "parent_span_id": "p",
        "created_ms": 1,
    }  # fmt: skip


def test_upgrading_takes_each_runs_subject_from_its_plan_and_downgrading_drops_it(
    settings: Settings,
) -> None:
    engine = create_store_engine(settings.store)
    try:
        migrate(engine, "0016")
        rows = [_run_row("r1", {"profile_id": "prf_1", "steps": []}), _run_row("r2", {})]
        with engine.begin() as conn:
            conn.execute(saga_runs.insert(), rows)  # names no column 0016 lacks
        migrate(engine)
        with engine.connect() as conn:
            subjects = dict(conn.execute(select(saga_runs.c.id, saga_runs.c.profile_id)).all())
        assert subjects == {"r1": "prf_1", "r2": None}
        downgrade(engine, "0016")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("saga_runs")}
            tables = set(inspect(conn).get_table_names())
        assert "profile_id" not in columns
        assert not {"console_sessions", "graph_audience_picks"} & tables
        migrate(engine)
    finally:
        engine.dispose()
