"""Reading the event log back as Event values."""

from __future__ import annotations

import asyncio

from crmos.bootstrap import Container
from crmos.store import EventQuery


def test_the_reader_returns_events_with_skew_corrected_times_and_decrypted_traits(
    container: Container,
) -> None:
    ws, write, _ = container.workspaces.create("acme")
    key = container.workspaces.resolve(write.secret)
    assert key is not None
    container.start_writer()
    body = b'{"userId": "u1", "traits": {"email": "a@b.c"}, "timestamp": "2026-01-02T03:04:05Z"}'
    asyncio.run(container.ingest().accept(key, "identify", body))
    [event] = container.reader.events(EventQuery(ws.id, user_id="u1"))
    assert event.type == "identify"
    assert event.timestamp.isoformat() == "2026-01-02T03:04:05+00:00"
    assert event.body["traits"] == {"email": "a@b.c"}
    assert event.subject == "user:u1"
