"""The audit chain: administrative changes are appended; `crmos audit verify` finds tampering."""

from __future__ import annotations

import json
import threading

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from crmos.bootstrap import Container
from crmos.cli.main import app
from crmos.store.tables_records import audit_log
from tests.integration.conftest import Tenant


def entries(container: Container, ws: str) -> list[tuple[int, str]]:
    with container.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.position, audit_log.c.action)
            .where(audit_log.c.workspace_id == ws)
            .order_by(audit_log.c.position)
        ).all()
    return [(r.position, r.action) for r in rows]


def verify_cli(container: Container) -> tuple[int, dict[str, object]]:
    env = {
        "CRMOS__HOME": str(container.settings.home),
        "CRMOS__STORE__URL": container.settings.store.url,
    }
    result = CliRunner().invoke(app, ["audit", "verify", "--json", "--workspace", "acme"], env=env)
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def test_issuing_and_revoking_keys_and_changing_settings_are_audited(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    issued = client.post(
        "/api/v1/keys",
        json={"name": "pos", "kind": "write", "source": "pos"},
        headers=tenant.bearer,
    ).json()
    client.delete(f"/api/v1/keys/{issued['id']}", headers=tenant.bearer)
    client.put("/api/v1/compliance/settings", json={"packs": ["lgpd"]}, headers=tenant.bearer)
    actions = [a for _, a in entries(container, tenant.workspace_id)]
    assert actions[:2] == ["key.issue", "key.revoke"]
    assert {"compliance.pack.publish", "compliance.settings.update"} <= set(actions)
    code, report = verify_cli(container)
    assert code == 0 and report["intact"] is True and report["entries"] == len(actions)


def test_an_edited_removed_or_reordered_entry_is_found_and_located(
    client: TestClient, tenant: Tenant, container: Container
) -> None:
    for pack in ("gdpr", "ccpa", "pipl", "lgpd"):
        client.put("/api/v1/compliance/settings", json={"packs": [pack]}, headers=tenant.bearer)
    ws = tenant.workspace_id
    with container.engine.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.workspace_id == ws, audit_log.c.position == 3)
            .values(actor="someone-else")
        )
    code, report = verify_cli(container)
    assert code == 1
    assert report["breaks"] == [{"position": 3, "problem": "was edited after it was written"}]
    with container.engine.begin() as conn:
        conn.execute(
            audit_log.delete().where(audit_log.c.workspace_id == ws, audit_log.c.position == 3)
        )
    _, report = verify_cli(container)
    assert {"position": 3, "problem": "entry 3 is missing"} in report["breaks"]  # type: ignore[operator]
    with container.engine.begin() as conn:
        rows = conn.execute(
            select(audit_log.c.seq, audit_log.c.position).where(
                audit_log.c.workspace_id == ws, audit_log.c.position.in_((5, 6))
            )
        ).all()
        first, second = rows
        conn.execute(update(audit_log).where(audit_log.c.seq == first.seq).values(position=-1))
        conn.execute(
            update(audit_log).where(audit_log.c.seq == second.seq).values(position=first.position)
        )
        conn.execute(
            update(audit_log).where(audit_log.c.seq == first.seq).values(position=second.position)
        )
    _, report = verify_cli(container)
    problems = {b["position"] for b in report["breaks"]}  # type: ignore[union-attr]
    assert {5, 6} <= problems


def test_concurrent_writers_extend_one_chain_without_forking_it(
    tenant: Tenant, container: Container
) -> None:
    """Writers that append at the same time each get their own position, on either store."""
    from concurrent.futures import ThreadPoolExecutor

    from crmos.store.records import append_audit, verify_audit

    ws = tenant.workspace_id
    barrier = threading.Barrier(4)

    def write(n: int) -> None:
        barrier.wait(timeout=30)
        for i in range(10):
            with container.engine.begin() as conn:
                append_audit(conn, ws, f"writer:{n}", "test.write", None, {"i": i})

    with ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(write, n) for n in range(4)]:
            f.result()
    writes = [a for _, a in entries(container, ws) if a == "test.write"]
    positions = [p for p, _ in entries(container, ws)]
    assert len(writes) == 40
    assert positions == list(range(1, len(positions) + 1))
    with container.engine.connect() as conn:
        assert list(verify_audit(conn, ws)) == []
