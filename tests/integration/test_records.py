"""Decision records and the tamper-evident audit chain, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete, update

from crmos.bootstrap import Container
from crmos.store import (
    Decision,
    append_audit,
    decisions_of,
    get_decision,
    record_decision,
    verify_audit,
)
from crmos.store.tables_records import audit_log


def test_a_decision_is_stored_with_its_reasons_and_found_by_profile(container: Container) -> None:
    decision = Decision(
        workspace_id="ws1",
        kind="identity.merge",
        rule="stitch.shared_identifier",
        version="1",
        reason="Both profiles used the phone +4930123456 within one identify call.",
        subject_profile_id="p1",
        score=1.0,
        inputs={"identifier": "phone"},
        event_ids=("m1", "m2"),
        actions=({"action": "merge", "outcome": "done"},),
    )
    with container.engine.begin() as conn:
        record_decision(conn, decision)
        record_decision(conn, Decision("ws2", "x", "r", "1", "other workspace", "p1"))
    with container.engine.connect() as conn:
        assert decisions_of(conn, "ws1", "p1") == [decision]
        assert get_decision(conn, "ws2", decision.id) is None


def chain(container: Container, n: int) -> None:
    with container.engine.begin() as conn:
        for i in range(n):
            append_audit(conn, "ws1", "admin", "key.issued", f"key_{i}", {"n": i})


def breaks(container: Container) -> list[tuple[int, str]]:
    with container.engine.connect() as conn:
        return [(b.position, b.problem) for b in verify_audit(conn, "ws1")]


def test_an_intact_audit_chain_verifies(container: Container) -> None:
    chain(container, 5)
    assert breaks(container) == []


def test_an_edited_audit_entry_is_detected_where_it_happened(container: Container) -> None:
    chain(container, 5)
    with container.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.position == 3).values(details='{"n":99}'))
    assert breaks(container) == [(3, "was edited after it was written")]


def test_a_removed_audit_entry_is_detected(container: Container) -> None:
    chain(container, 5)
    with container.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.position == 2))
    assert breaks(container) == [
        (2, "entry 2 is missing"),
        (3, "does not follow the entry before it"),
    ]


def test_a_rewritten_tail_with_recomputed_hashes_still_breaks_at_the_join(
    container: Container,
) -> None:
    chain(container, 3)
    with container.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.position == 2).values(hash="f" * 64))
    assert (2, "was edited after it was written") in breaks(container)
    assert (3, "does not follow the entry before it") in breaks(container)
