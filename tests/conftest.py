"""Shared fixtures: a store per backend (SQLite always, PostgreSQL from `make test`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmos.agent import encoder, intent_encoder
from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.store import create_store_engine, migrate
from tests.pg_support import clone_migrated, reset_pg, worker_url

METRICS_TOKEN = "test-metrics-token"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
"""The header that GET /metrics needs under the test settings."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/crmos.db"
    url = worker_url()
    reset_pg(url)
    return url


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    """Settings for a throwaway home directory and the parametrized store."""
    return Settings(
        home=tmp_path / "home",
        store={"url": store_url},
        server={"metrics_token": METRICS_TOKEN},
    )


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite store migrated to head once per session, copied for each test that needs one
    (running every migration again cost about 0.4 s per test)."""
    path = tmp_path_factory.mktemp("template") / "crmos.db"
    engine = create_store_engine(Settings(store={"url": f"sqlite:///{path}"}).store)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return path


def _copy_store(template: Path, url: str) -> None:
    """Copy the migrated template to the test's SQLite path, through SQLite's backup API."""
    target = Path(url.removeprefix("sqlite:///"))
    if target.exists():
        return
    source, copy = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


def prepare_migrated(url: str, migrated_sqlite: Path) -> None:
    """Make the empty store at ``url`` a copy of a store migrated to head once per session
    (SQLite) or per worker (PostgreSQL), so that migrating it finds it at head. A store that
    is not empty any more is left as it is."""
    if url.startswith("sqlite:///"):
        _copy_store(migrated_sqlite, url)
    else:
        clone_migrated(url)


@pytest.fixture
def migrated_store_url(store_url: str, migrated_sqlite: Path) -> str:
    """The test's store, already migrated to head (see `prepare_migrated`)."""
    prepare_migrated(store_url, migrated_sqlite)
    return store_url


@pytest.fixture
def container(settings: Settings, migrated_sqlite: Path) -> Iterator[Container]:
    """A migrated container on the settings' store (see `prepare_migrated`)."""
    prepare_migrated(settings.store.url, migrated_sqlite)
    built = build(settings, migrate_store=True)
    yield built
    built.close()


@pytest.fixture(scope="session", autouse=True)
def remembered_embeddings() -> Iterator[encoder.VectorCache]:
    """Each test worker runs the sentence encoder once per distinct text it classifies.

    Many tests score the same shipped evaluation sets and demo messages, and the encoder costs
    about 65 ms a message on the CI's two cores: embedding them afresh in every test was
    minutes of the suite. Training already reuses the product's vector cache; predictions
    embed afresh by design, so here they go through a :class:`VectorCache` of their own (the
    engine's vectors, keyed as the product keys them). Servers and CLIs that tests start in
    subprocesses embed as usual.
    """
    cache = encoder.VectorCache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(intent_encoder, "embed", cache.vectors)
        yield cache
