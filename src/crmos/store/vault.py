"""Per-subject data keys: personal data is encrypted with a key per subject (AES-GCM).

Each subject (``user:ID`` or ``anon:ID`` within a workspace) gets a random 256-bit data key,
stored wrapped by the master key in ``subject_keys``. Destroying that one row's key makes every
copy of the subject's personal data unreadable (crypto-shredding). See docs/keys.md.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine, select, update

from crmos.core.clock import now_ms
from crmos.core.errors import ConfigError, KeyDestroyed
from crmos.core.ids import new_id
from crmos.store.dialect import insert_ignore
from crmos.store.tables import subject_keys

NONCE_BYTES = 12
SEARCH_KEY_INFO = b"crmos/profile-search/v1/"


@dataclass(frozen=True, slots=True)
class DataKey:
    """A subject's unwrapped data key."""

    key_id: str
    subject: str
    cipher: AESGCM

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``aad``; returns nonce + ciphertext."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self.cipher.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt what :meth:`seal` produced with the same ``aad``."""
        return self.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


def load_master_key(configured: str | None, home: Path, production: bool) -> bytes:
    """The master key: configured (base64), or in development generated once under ``home``."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise ConfigError("security.master_key", "is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError("security.master_key", f"must be 32 bytes, got {len(key)}")
        return key
    if production:
        raise ConfigError("security.master_key", "required in production")
    path = home / "master.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
    return base64.b64decode(path.read_bytes())


class Vault:
    """Creates, caches, unwraps and destroys subject data keys."""

    def __init__(self, engine: Engine, master_key: bytes) -> None:
        self._engine = engine
        self._master = AESGCM(master_key)
        self._master_raw = master_key
        self._by_subject: dict[tuple[str, str], DataKey] = {}
        self._by_id: dict[str, DataKey | None] = {}
        self._lock = threading.Lock()

    def search_key(self, workspace_id: str) -> bytes:
        """The workspace's key for the profile search index (HMAC-SHA256 blind index).

        Derived from the master key with HKDF, bound to the workspace id, so it is never
        stored, differs per workspace, and changes (needing ``crmos profiles reindex``) only
        when the master key does.
        """
        return self.derive(SEARCH_KEY_INFO + workspace_id.encode())

    def derive(self, info: bytes) -> bytes:
        """A 32-byte key for one purpose (``info`` names it), derived from the master key with
        HKDF: never stored, the same on every node, and unrelated to any other purpose's key."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            self._master_raw
        )

    def keys_for(
        self, conn: Connection, workspace_id: str, subjects: Iterable[str]
    ) -> tuple[dict[str, DataKey], list[DataKey]]:
        """Keys for ``subjects``, creating missing ones inside ``conn``'s transaction.

        Returns the keys by subject and the newly created ones; call :meth:`remember` with the
        latter only after the transaction commits, so a rolled-back key is never reused.
        """
        wanted = set(subjects)
        found = {s: k for s in wanted if (k := self._by_subject.get((workspace_id, s)))}
        missing = wanted - found.keys()
        if missing:
            loaded = self._load(conn, workspace_id, missing)
            found.update(loaded)
            fresh = self._create(conn, workspace_id, missing - loaded.keys())
            found.update({k.subject: k for k in fresh})
            self.remember(workspace_id, loaded.values())
            return found, fresh
        return found, []

    def remember(self, workspace_id: str, keys: Iterable[DataKey]) -> None:
        """Cache keys known to be committed."""
        with self._lock:
            for key in keys:
                self._by_subject[(workspace_id, key.subject)] = key
                self._by_id[key.key_id] = key

    def by_id(self, conn: Connection, key_id: str) -> DataKey | None:
        """The key with ``key_id``, or None when it was destroyed."""
        if key_id in self._by_id:
            return self._by_id[key_id]
        row = conn.execute(select(subject_keys).where(subject_keys.c.id == key_id)).one_or_none()
        key = None if row is None or row.wrapped is None else self._unwrap(row)
        with self._lock:
            self._by_id[key_id] = key
        return key

    def destroy(self, workspace_id: str, subject: str) -> int:
        """Destroy ``subject``'s data key for good; returns how many keys were destroyed."""
        with self._engine.begin() as conn:
            done = (
                conn.execute(
                    update(subject_keys)
                    .where(subject_keys.c.workspace_id == workspace_id)
                    .where(subject_keys.c.subject == subject)
                    .where(subject_keys.c.wrapped.is_not(None))
                    # The subject name is itself personal data: replace it, which also frees the
                    # name for a new key should the person come back after the erasure.
                    .values(
                        wrapped=None,
                        subject="erased:" + subject_keys.c.id,
                        destroyed_ms=now_ms(),
                    )
                    .returning(subject_keys.c.id)
                )
                .scalars()
                .all()
            )
        with self._lock:
            self._by_subject.pop((workspace_id, subject), None)
            for key_id in done:
                self._by_id[key_id] = None
        return len(done)

    def require(self, conn: Connection, key_id: str, subject: str) -> DataKey:
        """Like :meth:`by_id` but raises :class:`KeyDestroyed` instead of returning None."""
        key = self.by_id(conn, key_id)
        if key is None:
            raise KeyDestroyed(subject)
        return key

    def _load(self, conn: Connection, workspace_id: str, subjects: set[str]) -> dict[str, DataKey]:
        rows = conn.execute(
            select(subject_keys)
            .where(subject_keys.c.workspace_id == workspace_id)
            .where(subject_keys.c.subject.in_(subjects))
        ).all()
        return {row.subject: self._unwrap(row) for row in rows if row.wrapped is not None}

    def _create(self, conn: Connection, workspace_id: str, subjects: set[str]) -> list[DataKey]:
        if not subjects:
            return []
        now = now_ms()
        made = [(new_id("dk_"), s, AESGCM.generate_key(bit_length=256)) for s in sorted(subjects)]
        rows = [
            {
                "id": key_id,
                "workspace_id": workspace_id,
                "subject": subject,
                "wrapped": self._wrap(raw, subject),
                "created_ms": now,
            }
            for key_id, subject, raw in made
        ]
        conn.execute(insert_ignore(conn.engine, subject_keys), rows)
        # Another writer may have created some of them first: read back what won.
        return list(self._load(conn, workspace_id, subjects).values())

    def _wrap(self, raw: bytes, subject: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, raw, subject.encode())

    def _unwrap(self, row: object) -> DataKey:
        wrapped: bytes = row.wrapped  # type: ignore[attr-defined]
        subject: str = row.subject  # type: ignore[attr-defined]
        raw = self._master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject.encode())
        return DataKey(row.id, subject, AESGCM(raw))  # type: ignore[attr-defined]
