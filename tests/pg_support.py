"""The test PostgreSQL databases: one per pytest-xdist worker, and a migrated template to clone.

`make test` starts one PostgreSQL server (scripts/with-services.sh) and names its database in
CRMOS_TEST_PG_URL. Tests running in parallel must not share a database (each test empties its
store), so every xdist worker works in its own, ``<database>_<worker id>``, created on first use.

Migrating an empty database to head costs about a second per test; cloning a database migrated
once per worker (CREATE DATABASE ... TEMPLATE) costs a fifth of that.
"""

from __future__ import annotations

import functools
import os

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from crmos.core.settings import Settings
from crmos.store import create_store_engine, migrate, normalise_url

PG_URL_VAR = "CRMOS_TEST_PG_URL"
TEMPLATE_SUFFIX = "_migrated"


def server_url() -> str:
    """The PostgreSQL server `make test` started; fails loudly when there is none."""
    url = os.environ.get(PG_URL_VAR)
    if not url:
        pytest.fail(
            f"{PG_URL_VAR} is not set: run the suite with `make test`, which starts PostgreSQL"
        )
    return url


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str) -> Engine:
    """An engine on the server's maintenance database, outside transactions (CREATE DATABASE
    and DROP DATABASE refuse to run inside one)."""
    return create_engine(
        normalise_url(_with_database(url, "postgres")), isolation_level="AUTOCOMMIT"
    )


@functools.cache
def worker_url() -> str:
    """This worker's own database (created empty on first use); the server's database itself
    when the suite runs without xdist."""
    url = server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    name = f"{make_url(url).database}_{worker}"
    _recreate(url, name)
    return _with_database(url, name)


def _recreate(url: str, name: str) -> None:
    """Drop the database ``name`` on ``url``'s server if it exists, and create it empty."""
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def reset_pg(url: str) -> None:
    """Drop everything in the test database so each test starts from an empty schema."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("DROP SCHEMA IF EXISTS dbos CASCADE"))  # the saga engine's checkpoints
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@functools.cache
def migrated_template() -> str:
    """The name of a database migrated to head, made once per worker (anew each session, so
    it always has the migrations of the code under test)."""
    url = worker_url()
    name = f"{make_url(url).database}{TEMPLATE_SUFFIX}"
    _recreate(url, name)
    engine = create_store_engine(Settings(store={"url": _with_database(url, name)}).store)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # CREATE DATABASE ... TEMPLATE needs it without connections
    return name


def clone_migrated(url: str) -> None:
    """Replace the empty database of ``url`` with a copy of the migrated template (a database
    that holds a table already is left as it is)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT count(*) FROM pg_tables"
                    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if tables:
        return
    template = migrated_template()
    name = make_url(url).database
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
