"""Per-subject data keys on both stores: wrapping, caching, crypto-shredding."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from crmos.bootstrap import Container
from crmos.store import Vault
from crmos.store.tables import subject_keys


def test_a_subject_gets_one_key_that_a_fresh_vault_unwraps_again(container: Container) -> None:
    with container.engine.begin() as conn:
        keys, made = container.vault.keys_for(conn, "ws1", {"user:a", "user:b"})
    assert {k.subject for k in made} == {"user:a", "user:b"}
    sealed = keys["user:a"].seal(b"secret", b"aad")
    master = container.vault._master  # same master key, empty cache
    fresh = Vault(container.engine, b"\0" * 32)
    fresh._master = master
    with container.engine.connect() as conn:
        assert (
            fresh.require(conn, keys["user:a"].key_id, "user:a").open(sealed, b"aad") == b"secret"
        )
        again, made_again = fresh.keys_for(conn, "ws1", {"user:a"})
    assert made_again == []
    assert again["user:a"].key_id == keys["user:a"].key_id


def test_a_key_wrapped_by_another_master_key_cannot_be_opened(container: Container) -> None:
    with container.engine.begin() as conn:
        keys, _ = container.vault.keys_for(conn, "ws1", {"user:a"})
    thief = Vault(container.engine, os.urandom(32))
    with container.engine.connect() as conn, pytest.raises(InvalidTag):
        thief.by_id(conn, keys["user:a"].key_id)


def test_destroying_a_key_removes_the_subject_name_and_lets_a_new_key_be_made(
    container: Container,
) -> None:
    with container.engine.begin() as conn:
        keys, _ = container.vault.keys_for(conn, "ws1", {"user:anna@example.de"})
    old = keys["user:anna@example.de"].key_id
    assert container.vault.destroy("ws1", "user:anna@example.de") == 1
    assert container.vault.destroy("ws1", "user:anna@example.de") == 0
    with container.engine.connect() as conn:
        subjects = conn.execute(select(subject_keys.c.subject)).scalars().all()
        assert container.vault.by_id(conn, old) is None
    assert "user:anna@example.de" not in subjects
    with container.engine.begin() as conn:
        renewed, _ = container.vault.keys_for(conn, "ws1", {"user:anna@example.de"})
    assert renewed["user:anna@example.de"].key_id != old
