"""Shared fixtures: a store per backend (SQLite always, PostgreSQL from `make test`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crmos.bootstrap import Container, build
from crmos.core.settings import Settings
from crmos.store import normalise_url

PG_URL_VAR = "CRMOS_TEST_PG_URL"
METRICS_TOKEN = "test-metrics-token"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
"""The header that GET /metrics needs under the test settings."""


def pg_url() -> str:
    """The PostgreSQL server `make test` started; fails loudly when there is none."""
    url = os.environ.get(PG_URL_VAR)
    if not url:
        pytest.fail(
            f"{PG_URL_VAR} is not set: run the suite with `make test`, which starts PostgreSQL"
        )
    return url


def reset_pg(url: str) -> None:
    """Drop everything in the test database so each test starts from an empty schema."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("DROP SCHEMA IF EXISTS dbos CASCADE"))  # the saga engine's checkpoints
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/crmos.db"
    url = pg_url()
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


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """A migrated container."""
    built = build(settings, migrate_store=True)
    yield built
    built.close()
