"""Reads stored events back in Segment's shape, decrypting personal fields with subject keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection, Row

from crmos.core.errors import StoreError
from crmos.core.event import Event
from crmos.ingest.normalise import join_pii
from crmos.store import EventLog, EventQuery, Vault


class EventReader:
    """Queries the event log of one workspace at a time."""

    def __init__(self, log: EventLog, vault: Vault) -> None:
        self._log = log
        self._vault = vault

    def events(self, query: EventQuery) -> list[Event]:
        """Events matching ``query`` as :class:`Event` values, personal fields decrypted."""
        rows = self._log.read(query)
        with self._log.engine.connect() as conn:
            return self.to_events(conn, rows)

    def to_events(self, conn: Connection, rows: list[Row[Any]]) -> list[Event]:
        """Rows of the ``events`` table as :class:`Event` values, read within ``conn``."""
        return [_event(row, self._to_message(conn, row)) for row in rows]

    def find(self, query: EventQuery) -> list[dict[str, Any]]:
        """Events matching ``query`` as Segment messages (with ``seq`` and ``touchpoint``)."""
        return [{**e.body, "seq": e.seq, "touchpoint": e.touchpoint} for e in self.events(query)]

    def _to_message(self, conn: Connection, row: Row[Any]) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(row.body)
        if row.pii is None:
            return body
        key = self._vault.by_id(conn, row.key_id)
        if key is None:
            # Crypto-shredded: the personal fields are gone for good, say so instead of failing.
            body["erased"] = True
            return body
        try:
            pii = orjson.loads(key.open(row.pii, f"{row.workspace_id}/{row.message_id}".encode()))
        except InvalidTag as exc:
            raise StoreError(
                "decrypt", f"event {row.message_id} failed its integrity check"
            ) from exc
        return join_pii(body, pii)


def _event(row: Row[Any], body: dict[str, Any]) -> Event:
    return Event(
        workspace_id=row.workspace_id,
        message_id=row.message_id,
        type=row.type,
        user_id=row.user_id,
        anonymous_id=row.anonymous_id,
        name=row.name,
        timestamp=datetime.fromtimestamp(row.ts_ms / 1000, UTC),
        received_at=datetime.fromtimestamp(row.received_ms / 1000, UTC),
        touchpoint=row.touchpoint,
        body=body,
        seq=row.seq,
    )
