"""Schema migrations with Alembic; the scripts ship inside the package.

Alembic loads only when a migration runs or the head is read: knowing the store's revision is
one plain query, so quick commands (``crmos workspace list``) start without it.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from crmos.core.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"
"""Where Alembic keeps the revision in force (its default name)."""


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("crmos.store") / "migrations"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the store to ``revision``; returns the revision now in force."""
    if revision == "head":  # a store already at head needs no Alembic run (most starts)
        current = current_revision(engine)
        if current is not None and current == head_revision():
            return current
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """Downgrade the store to ``revision`` (developers; tests undo each new migration)."""
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, or None when it was never migrated (read as Alembic's
    ``MigrationContext.get_current_revision`` reads it, without loading Alembic)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        found = list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    if len(found) > 1:
        raise StoreError("reading the schema revision", f"several heads in force: {found}")
    return str(found[0]) if found else None


@functools.cache
def head_revision() -> str | None:
    """The newest revision the package ships (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def revise(engine: Engine, message: str) -> None:
    """Autogenerate a new migration script from ``tables.py`` (for developers)."""
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
