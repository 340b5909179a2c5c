"""What the erasure tests share: a person, the DSR call, and a search of every byte left.

``leftovers`` reads every table through SQL (compliance's scan for text columns, and binary
columns here, where a raw ``.eml`` lives), DBOS's own system database, and every other file
under the data directories as a file. SQLite files are never opened as files (that would drop
the server's POSIX locks), only through SQLite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, LargeBinary, create_engine, inspect, select, table
from sqlalchemy import column as sql_column

from crmos.bootstrap import Container
from crmos.compliance import data_roots
from crmos.compliance.scan import scan_tables, spellings
from tests.integration.conftest import Tenant

NAME = "Hans Müller"
EMAIL = "hans.mueller@example.de"
PHONE = "+49 30 1234567"
ADDRESS = "Lindenstraße 23, 10969 Berlin"
USER_ID = "hans-42"
TRAITS = {"email": EMAIL, "name": NAME, "phone": PHONE, "address": ADDRESS, "country": "DE"}
NEEDLES = (NAME, EMAIL, ADDRESS, USER_ID, "+49301234567")


def identify(client: TestClient, basic: dict[str, str], **extra: Any) -> None:
    """The person identifies themselves on the website (Segment API, ``basic``: its auth)."""
    body = {"userId": USER_ID, "traits": TRAITS, "messageId": "hans-identify", **extra}
    response = client.post("/v1/identify", headers=basic, json=body)
    assert response.status_code == 200, response.text


def track(client: TestClient, tenant: Tenant, event: str, n: int, **props: Any) -> None:
    """``n`` track events of the person."""
    batch = [
        {
            "type": "track",
            "userId": USER_ID,
            "event": event,
            "messageId": f"hans-{event}-{i}",
            "properties": props,
        }
        for i in range(n)
    ]
    response = client.post("/v1/batch", headers=tenant.basic, json={"batch": batch})
    assert response.status_code == 200, response.text


def drain(container: Container) -> None:
    """Let every consumer (identity, graph, playbooks, agent, compliance) reach the head."""
    for _ in range(3):
        container.stream.run_once()


def erase(client: TestClient, tenant: Tenant, kind: str = "email", value: str = EMAIL) -> Any:
    """An erasure through the DSR API; returns the finished request."""
    response = client.post(
        "/api/v1/dsr",
        headers=tenant.bearer,
        json={"kind": "erasure", "identifier": {"type": kind, "value": value}},
    )
    assert response.status_code == 201, response.text
    return response.json()


def eml(body: str, subject: str = "Lieferung", sender: str = f"{NAME} <{EMAIL}>") -> bytes:
    """An e-mail (from the person), signed with their name, address and customer number."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "sales@example.com"
    message["Subject"] = subject
    signature = f"\n\n{NAME}\n{ADDRESS}\nKundennummer K-778812\nTel. {PHONE}\n"
    message.set_content(body + signature)
    return message.as_bytes()


def leftovers(container: Container, needles: tuple[str, ...] = NEEDLES) -> list[str]:
    """Every table column, binary column and file still holding any spelling of a needle."""
    forms = spellings(needles)
    found = _in_database(container.engine, forms)
    dbos = container.settings.home / "dbos.sqlite"
    if container.engine.dialect.name == "sqlite" and dbos.exists():
        sysdb = create_engine(f"sqlite:///{dbos}")
        try:
            found += [f"dbos:{where}" for where in _in_database(sysdb, forms)]
        finally:
            sysdb.dispose()
    patterns = {f.encode() for f in forms}
    databases = {Path(container.engine.url.database or "").resolve(), dbos.resolve()}
    for path in _plain_files(data_roots(container.settings), databases):
        data = path.read_bytes()
        if any(p in data or p in data.lower() for p in patterns):
            found.append(str(path))
    return found


def _in_database(engine: Engine, forms: list[str]) -> list[str]:
    with engine.connect() as conn:
        findings, _, _ = scan_tables(conn, forms)
        found = [f.where for f in findings]
        inspector = inspect(conn)
        patterns = [f.encode() for f in forms]
        for schema in [s for s in inspector.get_schema_names() if not s.startswith(("pg_", "inf"))]:
            for name in inspector.get_table_names(schema=schema):
                for col in inspector.get_columns(name, schema=schema):
                    if not isinstance(col["type"], LargeBinary):
                        continue
                    t = table(name, sql_column(col["name"]), schema=schema)
                    for (blob,) in conn.execute(select(t.c[col["name"]])):
                        data = bytes(blob or b"")
                        if any(p in data or p in data.lower() for p in patterns):
                            found.append(f"{name}.{col['name']}")
    return sorted(set(found))


def _plain_files(roots: list[Path], databases: set[Path]) -> Iterator[Path]:
    """Every file but the SQLite databases (and their journals), which are read through SQL."""
    skip = {Path(f"{db}{side}") for db in databases for side in ("", "-wal", "-shm", "-journal")}
    seen: set[Path] = set()
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder, name).resolve()
                if path not in seen and path not in skip:
                    seen.add(path)
                    yield path


def report_of(done: dict[str, Any]) -> dict[str, Any]:
    """The proof-of-erasure report of a finished request (asserting it completed)."""
    assert done["status"] == "completed", json.dumps(done, ensure_ascii=False)[:3000]
    report: dict[str, Any] = done["report"]
    assert report["verification"]["readable_copies"] == 0
    return report


def stores(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's store outcomes by target."""
    return {s["target"]: s for s in report["stores"]}
