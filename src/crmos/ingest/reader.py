"""Reads stored events back in Segment's shape, decrypting personal fields with subject keys."""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from sqlalchemy import Row

from crmos.core.errors import StoreError
from crmos.ingest.normalise import join_pii
from crmos.store import EventLog, EventQuery, Vault


class EventReader:
    """Queries the event log of one workspace at a time."""

    def __init__(self, log: EventLog, vault: Vault) -> None:
        self._log = log
        self._vault = vault

    def find(self, query: EventQuery) -> list[dict[str, Any]]:
        """Events matching ``query`` as Segment messages (with ``seq`` and ``touchpoint``)."""
        rows = self._log.read(query)
        with self._log.engine.connect() as conn:
            return [self._to_message(conn, row) for row in rows]

    def _to_message(self, conn: Any, row: Row[Any]) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(row.body)
        body["seq"] = row.seq
        body["touchpoint"] = row.touchpoint
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
