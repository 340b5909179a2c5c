"""Console sessions live in the store: they hold across ``crmos serve`` nodes and restarts, end
on signing out, on expiry and with their key, and keep only a hash of the token."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.store.tables import console_sessions
from crmos.web import create_app
from crmos.web.session import COOKIE, IDLE_SECONDS
from tests.integration.conftest import sign_in as _sign_in

Node = TestClient


@pytest.fixture
def nodes(container: Container, settings: Settings) -> Iterator[tuple[Node, Node, Container]]:
    """Two console nodes on one store, each with its own container, as two ``crmos serve``
    (without their background workers: one process runs one saga engine)."""
    second = build(settings, migrate_store=False)
    try:
        yield TestClient(create_app(container)), TestClient(create_app(second)), container
    finally:
        second.close()


def _as(node: Node, token: str) -> Node:
    """The node's client holding only ``token``'s cookie (a browser of that session)."""
    node.cookies.clear()
    node.cookies.set(COOKIE, token)
    return node


def _signed_in(node: Node, token: str) -> bool:
    answer = _as(node, token).get("/people")
    return answer.status_code == 200 and 'action="/sign-in"' not in answer.text


def test_a_session_opened_on_one_node_works_on_another_and_ends_everywhere_on_sign_out(
    nodes: tuple[Node, Node, Container],
) -> None:
    one, two, container = nodes
    admin = container.workspaces.create("acme")[2].secret
    token = _sign_in(one, admin)
    assert _signed_in(two, token)
    page = _as(two, token).get("/people").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    out = _as(two, token).post("/sign-out", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert not _signed_in(one, token)


def test_a_session_survives_a_restart_of_the_server(
    container: Container, settings: Settings
) -> None:
    admin = container.workspaces.create("acme")[2].secret
    token = _sign_in(TestClient(create_app(container)), admin)  # the first process
    # A second container on the same store: what a restarted process builds.
    again = build(settings, migrate_store=False)
    try:
        assert _signed_in(TestClient(create_app(again)), token)
    finally:
        again.close()


def test_the_store_keeps_a_hash_of_the_token_and_no_secret_reaches_the_log(
    nodes: tuple[Node, Node, Container], caplog: pytest.LogCaptureFixture
) -> None:
    one, _, container = nodes
    ws, _, admin = container.workspaces.create("acme")
    with caplog.at_level(logging.DEBUG):
        token = _sign_in(one, admin.secret)
        assert _signed_in(one, token)
    with container.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(console_sessions))]
    assert len(rows) == 1
    (row,) = rows
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert (row["workspace_id"], row["key_id"]) == (ws.id, admin.key.id)
    assert row["scopes"] == "read,write,admin"
    assert not any(token in str(v) or admin.secret in str(v) for v in row.values())
    assert token not in caplog.text and admin.secret not in caplog.text


def test_a_session_ends_when_it_expires_idles_too_long_or_its_key_is_revoked(
    nodes: tuple[Node, Node, Container],
) -> None:
    one, _, container = nodes
    ws, _, admin = container.workspaces.create("acme")
    c = console_sessions.c
    expired, idle, revoked = (_sign_in(one, admin.secret) for _ in range(3))
    with container.engine.begin() as conn:
        by = c.token_hash == hashlib.sha256(expired.encode()).hexdigest()
        conn.execute(update(console_sessions).where(by).values(expires_ms=1))
        by = c.token_hash == hashlib.sha256(idle.encode()).hexdigest()
        long_ago = c.used_ms - IDLE_SECONDS * 1000 - 1
        conn.execute(update(console_sessions).where(by).values(used_ms=long_ago))
    assert not _signed_in(one, expired) and not _signed_in(one, idle)
    assert _signed_in(one, revoked)
    store = one.app.state.console.sessions.store
    assert store.prune() == 2
    container.workspaces.revoke(ws.id, admin.key.id)
    assert not _signed_in(one, revoked)
    with container.engine.connect() as conn:
        assert conn.execute(select(console_sessions)).all() == []


def test_a_read_only_key_keeps_its_scope_in_the_stored_session(
    nodes: tuple[Node, Node, Container],
) -> None:
    one, two, container = nodes
    ws = container.workspaces.create("acme")[0]
    reader = container.workspaces.issue_key(ws.id, "reader", ("read",), "ui")
    token = _sign_in(one, reader.secret)
    page = _as(two, token).get("/people")
    assert page.status_code == 200
    assert "Read-only key" in page.text
