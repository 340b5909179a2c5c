"""``identity.erase_profile``: a person's identity data leaves every identity table."""

from __future__ import annotations

import json

from sqlalchemy import Table, func, select

from crmos.bootstrap import Container
from crmos.identity import erase_profile, profile_of
from crmos.store.tables_identity import (
    identity_merges,
    identity_workspaces,
    profile_events,
    profile_identifiers,
    profiles,
)


def send(container: Container, ws: str, *events: dict[str, object]) -> None:
    lines = [json.dumps({"messageId": f"m{i}", **e}).encode() for i, e in enumerate(events)]
    for report in container.ingest().ingest_lines(ws, "app", lines):
        assert report.rejected == 0, report.problems
    container.stream.run_once()


def count(container: Container, table: Table, ws: str) -> int:
    stmt = select(func.count()).select_from(table).where(table.c.workspace_id == ws)
    with container.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_erasing_a_merged_profile_removes_its_tree_identifiers_statements_and_merges(
    container: Container,
) -> None:
    ws = container.workspaces.create("erase")[0].id
    send(
        container,
        ws,
        {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}},
        {"type": "identify", "anonymousId": "a1", "traits": {"name": "Ann"}},
        {"type": "alias", "userId": "u1", "anonymousId": "a1", "previousId": "a1"},
        {"type": "identify", "userId": "u2", "traits": {"email": "bo@example.com"}},
    )
    with container.engine.connect() as conn:
        ann = profile_of(conn, ws, "user_id", "u1")
        tree = [r[0] for r in conn.execute(select(profiles.c.id).where(profiles.c.root_id == ann))]
        epoch = conn.execute(select(identity_workspaces.c.epoch)).scalar_one()
    assert ann is not None and len(tree) == 2
    with container.engine.begin() as conn:
        counts = erase_profile(conn, ws, tree)
    assert counts["profiles"] == 2 and counts["identity_merges"] == 1
    assert counts["profile_identifiers"] == 3 and counts["profile_events"] >= 3
    with container.engine.connect() as conn:
        assert profile_of(conn, ws, "user_id", "u1") is None
        assert profile_of(conn, ws, "user_id", "u2") is not None
        assert conn.execute(select(identity_workspaces.c.epoch)).scalar_one() == epoch + 1
    assert count(container, profiles, ws) == 1
    assert count(container, profile_identifiers, ws) == 2
    assert count(container, identity_merges, ws) == 0
    assert count(container, profile_events, ws) == 1


def test_erasing_nothing_changes_nothing(container: Container) -> None:
    ws = container.workspaces.create("none")[0].id
    with container.engine.begin() as conn:
        assert erase_profile(conn, ws, []) == {}
