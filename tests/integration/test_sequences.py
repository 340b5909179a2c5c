"""Issue 13, finding 2: numbers of the event log and the other log tables are never given twice.

SQLite reused a deleted newest rowid, so after an erasure the next events got numbers at or
below the consumers' offsets and no consumer ever read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select, text

from crmos.bootstrap import Container
from crmos.core.settings import Settings
from crmos.graph import neighbours, node_id
from crmos.identity import profile_of
from crmos.store import create_store_engine, get_offset, migrate, set_offset
from crmos.store.tables import events, metadata
from tests.polling import wait_until

WELCOME = """
id: welcome
description: greet whoever signs up
trigger: {pattern: {event: {event: Signed Up}}}
steps:
  - {id: hello, component: notify.email, with: {subject: Hello, text: Welcome.}}
"""

# Tables whose integer keys consumers, cursors, indexes or other rows refer to.
LOG_TABLES = (
    "events",
    "stream_failures",
    "identity_conflicts",
    "identity_rejections",
    "identity_changes",
    "saga_timeline",
    "audit_log",
    "graph_rule_failures",
    "playbook_activations",
    "component_refusals",
    "agent_intents",
    "knowledge_passages",
)


def _send(container: Container, ws: str, *messages: dict[str, Any]) -> None:
    lines = [orjson.dumps(m) for m in messages]
    for report in container.ingest().ingest_lines(ws, "app", lines):
        assert not report.problems, report.problems


def _person(user: str, event: str = "Signed Up") -> list[dict[str, Any]]:
    traits = {"email": f"{user}@example.com", "company": "Acme"}
    return [
        {"type": "identify", "userId": user, "traits": traits, "messageId": f"{user}-id"},
        {"type": "track", "userId": user, "event": event, "messageId": f"{user}-tr"},
    ]


def _seqs(engine: Engine, ws: str, user: str) -> list[int]:
    stmt = select(events.c.seq).where(events.c.workspace_id == ws, events.c.user_id == user)
    with engine.connect() as conn:
        return [int(s) for s in conn.execute(stmt).scalars()]


def _profile(engine: Engine, ws: str, user: str) -> str | None:
    with engine.connect() as conn:  # a fresh snapshot per look
        return profile_of(conn, ws, "user_id", user)


@pytest.fixture
def running(container: Container) -> Iterator[Container]:
    container.stream.start()
    yield container
    container.stream.close()


def test_events_after_erasing_the_newest_ones_get_new_numbers_and_reach_every_consumer(
    running: Container,
) -> None:
    c = running
    ws = c.workspaces.create("acme")[0].id
    c.playbooks.publish(ws, WELCOME, "ops@acme", "test")
    _send(c, ws, *_person("u1"))
    _send(c, ws, *_person("u3", event="Browsed"))
    earlier = _seqs(c.engine, ws, "u1") + _seqs(c.engine, ws, "u3")
    wait_until(lambda: _profile(c.engine, ws, "u3"), what="u3's profile")
    request = c.compliance.dsr.receive(ws, "erasure", ("user_id", "u3"), "api", "test")
    assert c.compliance.dsr.run(ws, request.id).status == "completed"
    assert _seqs(c.engine, ws, "u3") == []  # the newest events are gone

    _send(c, ws, *_person("u4"))

    assert min(_seqs(c.engine, ws, "u4")) > max(earlier)
    pid = wait_until(lambda: _profile(c.engine, ws, "u4"), what="u4's profile")

    def works_at_acme() -> bool:
        with c.engine.connect() as conn:  # a fresh snapshot per look
            edges = neighbours(conn, ws, [node_id("profile", pid)], ["works_at"], 5)
        return any(e[3] == node_id("account", "acme") for e in edges)  # (node, type, w, other)

    wait_until(works_at_acme, what="the graph to link u4 to Acme")
    wait_until(
        lambda: any(f["profile_id"] == pid for f in c.playbooks.firings(ws, "welcome")),
        what="the welcome playbook to fire for u4",
    )
    head = max(_seqs(c.engine, ws, "u4"))
    wait_until(lambda: _slowest_consumer(c.engine) >= head, what="every consumer to read u4")


def _slowest_consumer(engine: Engine) -> int:
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT consumer FROM stream_offsets"))]
        return min(get_offset(conn, n) for n in names) if names else 0


def test_every_log_table_hands_out_numbers_that_are_never_reused(container: Container) -> None:
    with container.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type='table'"))
            sql = {str(name): str(create) for name, create in found}
            assert [t for t in LOG_TABLES if "AUTOINCREMENT" not in sql[t]] == []
        else:
            # BIGSERIAL: a bigint fed by a sequence that never cycles (PostgreSQL's default).
            for table in LOG_TABLES:
                key = metadata.tables[table].primary_key.columns.values()[0].name
                kind, default = conn.execute(
                    text(
                        "SELECT data_type, column_default FROM information_schema.columns"
                        " WHERE table_schema = current_schema() AND table_name = :t"
                        " AND column_name = :c"
                    ),
                    {"t": table, "c": key},
                ).one()
                assert kind == "bigint" and default.startswith("nextval("), (table, default)
                cycles = conn.execute(
                    text(
                        "SELECT s.seqcycle FROM pg_sequence s"
                        " WHERE s.seqrelid = pg_get_serial_sequence(:t, :c)::regclass"
                    ),
                    {"t": table, "c": key},
                ).scalar_one()
                assert cycles is False, table


def test_upgrading_keeps_every_event_and_numbers_new_ones_above_every_offset(
    settings: Settings,
) -> None:
    engine = create_store_engine(settings.store)
    row = {
        "workspace_id": "w",
        "type": "track",
        "ts_ms": 1,
        "received_ms": 1,
        "touchpoint": "app",
        "body": "{}",
    }
    try:
        migrate(engine, "0013")
        with engine.begin() as conn:
            conn.execute(events.insert(), [row | {"message_id": f"m{i}"} for i in range(5)])
            conn.execute(events.delete().where(events.c.seq >= 4))  # erased before upgrading
            set_offset(conn, "identity", 5)
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(events.insert(), [row | {"message_id": "new"}])
            stored = dict(conn.execute(select(events.c.message_id, events.c.seq)).all())
    finally:
        engine.dispose()
    assert {k: stored[k] for k in ("m0", "m1", "m2")} == {"m0": 1, "m1": 2, "m2": 3}
    assert stored["new"] > 5
