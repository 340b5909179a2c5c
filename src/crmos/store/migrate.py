"""Schema migrations with Alembic; the scripts ship inside the package."""

from __future__ import annotations

import functools
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("crmos.store") / "migrations"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the store to ``revision``; returns the revision now in force."""
    if revision == "head":  # a store already at head needs no Alembic run (most starts)
        current = current_revision(engine)
        if current is not None and current == head_revision():
            return current
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """Downgrade the store to ``revision`` (developers; tests undo each new migration)."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, or None when it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest revision the package ships (read once per process)."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def revise(engine: Engine, message: str) -> None:
    """Autogenerate a new migration script from ``tables.py`` (for developers)."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
