"""An erasure cancels the person's runs that no engine has taken yet, on SQLite and PostgreSQL:
the run never acts on the person afterwards, its record says why, DBOS forgets its input, and
(on SQLite) no byte of DBOS's own database file keeps the person's strings."""

from __future__ import annotations

import base64
import binascii
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from crmos.api import create_app
from crmos.bootstrap import Container
from crmos.sagas.erasure import CANCELLED_BY_ERASURE
from crmos.sagas.testing import EffectServer, HttpEffect
from crmos.store import checkpoint_engine
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.erasure_support import (
    EMAIL,
    NAME,
    NEEDLES,
    drain,
    erase,
    identify,
    leftovers,
    report_of,
    stores,
)
from tests.integration.saga_support import effect, start_fast_engine, wait_until


@pytest.fixture
def held(container: Container) -> Iterator[tuple[Container, TestClient, Tenant]]:
    """crmos serving without a saga engine (scale-out with every worker down): runs wait."""
    container.settings.sagas = container.settings.sagas.model_copy(update={"embedded": False})
    container.runs.registry.add(HttpEffect())
    tenant = make_tenant(container, "acme")
    with TestClient(create_app(container)) as api:
        yield container, api, tenant


def _start(api: TestClient, tenant: Tenant, url: str, **params: Any) -> str:
    spec = {"name": "welcome", "input": params, "steps": [effect("mail", url, **{"with": params})]}
    started = api.post("/api/v1/runs", headers=tenant.bearer, json=spec)
    assert started.status_code == 201, started.text
    run_id: str = started.json()["id"]
    return run_id


def test_a_queued_run_for_the_person_is_cancelled_and_never_acts_on_them_after_erasure(
    held: tuple[Container, TestClient, Tenant],
) -> None:
    c, api, tenant = held
    identify(api, tenant.basic)
    drain(c)
    with EffectServer() as effects:
        theirs = _start(api, tenant, effects.url, customer=EMAIL, name=NAME)
        assert c.runs.get(tenant.workspace_id, theirs).run.status == "queued"
        if c.engine.dialect.name == "sqlite":  # the search sees DBOS's copy of the input
            assert _readable_in_dbos_files(c, (EMAIL,)), "DBOS holds the queued run's input"

        report = report_of(erase(api, tenant))

        run = c.runs.get(tenant.workspace_id, theirs)
        assert (run.run.status, run.run.reason) == ("cancelled", CANCELLED_BY_ERASURE)
        assert [(e.phase, e.status) for e in run.timeline] == [("erasure", "cancelled")]
        assert stores(report)["queued_runs_cancelled"]["count"] == 1
        assert c.runs.dispatcher.client().list_workflows(workflow_id_prefix=theirs) == []
        assert leftovers(c) == []
        assert _readable_in_dbos_files(c, NEEDLES) == []
        # A worker comes up: another person's run goes through, the cancelled one never does.
        start_fast_engine(c)
        other = _start(api, tenant, effects.url, customer="someone@else.example")
        wait_until(lambda: c.runs.get(tenant.workspace_id, other).run.terminal, 30, "the run")
        assert c.runs.get(tenant.workspace_id, other).run.status == "completed"
        assert effects.calls == 1
        assert c.runs.get(tenant.workspace_id, theirs).run.status == "cancelled"


def _readable_in_dbos_files(c: Container, needles: tuple[str, ...]) -> list[str]:
    """The needles readable in dbos.sqlite or its log as bytes, plainly or inside the base64
    pickles DBOS writes. Read in a child process: a handle this process opened and closed on a
    live SQLite file would drop the locks its own connections hold."""
    if c.engine.dialect.name != "sqlite":
        return []
    paths = [p for p in c.settings.home.glob("dbos.sqlite*") if p.is_file()]
    blobs = [_read_elsewhere(p) for p in paths]
    found = []
    for needle in needles:
        raw = needle.encode()
        for path, data in zip(paths, blobs, strict=True):
            if raw in data or raw in b"".join(_decoded(data)):
                found.append(f"{path.name}: {needle}")
    return found


def _read_elsewhere(path: Path) -> bytes:
    code = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          check=True).stdout  # fmt: skip


def _decoded(data: bytes) -> Iterator[bytes]:
    for token in re.findall(rb"[A-Za-z0-9+/]{24,}={0,2}", data):
        for start in range(4):  # a token cut out of a page may start mid-quantum
            chunk = token[start:]
            try:
                yield base64.b64decode(chunk[: len(chunk) // 4 * 4])
            except binascii.Error:
                continue


def test_the_saga_engines_sqlite_connections_overwrite_deleted_content(tmp_path: Path) -> None:
    engine = checkpoint_engine(f"sqlite:///{tmp_path / 'dbos.sqlite'}", 1)
    # As a SQLite built without SECURE_DELETE starts (Debian's is built with it on).
    event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA secure_delete=OFF"), insert=True)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    finally:
        engine.dispose()
