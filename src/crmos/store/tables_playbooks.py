"""The tables of the playbooks room: immutable versions, what is in force when, trigger state,
durable timers, firings (the outbox that starts runs exactly once), sandbox refusals and the
compliance reviews of components.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.dml import Insert

from crmos.store.dialect import dialect_insert
from crmos.store.tables import SeqType, metadata

playbook_versions = Table(
    "playbook_versions",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("hash", String(64), primary_key=True),
    Column("playbook_id", String(100), nullable=False),
    Column("source", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

playbook_activations = Table(
    "playbook_activations",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("playbook_id", String(100), nullable=False),
    Column("hash", String(64), nullable=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("author", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Index("ix_playbook_activations_at", "workspace_id", "playbook_id", "at_ms"),
    sqlite_autoincrement=True,
)

trigger_state = Table(
    "trigger_state",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("playbook_id", String(100), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

playbook_timers = Table(
    "playbook_timers",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("playbook_id", String(100), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("due_ms", BigInteger, nullable=False),
    Index("ix_playbook_timers_due", "due_ms"),
)

playbook_firings = Table(
    "playbook_firings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("playbook_id", String(100), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("version_hash", String(64), nullable=False),
    Column("variant", String(100), nullable=True),
    Column("decision_id", String(40), nullable=True),
    Column("status", String(24), nullable=False),
    Column("run_id", String(40), nullable=True),
    Column("request", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=True),
    UniqueConstraint("workspace_id", "playbook_id", "event_id", name="uq_playbook_firings_event"),
    Index("ix_playbook_firings_status", "status"),
    Index("ix_playbook_firings_profile", "workspace_id", "profile_id"),
)

component_refusals = Table(
    "component_refusals",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=True),
    Column("run_id", String(40), nullable=False),
    Column("component", String(100), nullable=False),
    Column("host", String(255), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# One row per review decision (history kept); a component's status in a workspace is its latest
# row for the installed version: a new version enters as pending review again.
component_reviews = Table(
    "component_reviews",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("component", String(100), nullable=False),
    Column("version", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_component_reviews_component", "workspace_id", "component", "version"),
    sqlite_autoincrement=True,
)


def upsert_replace(engine: Engine, table: Table, keys: Sequence[str]) -> Insert:
    """Insert a row, or overwrite the other columns of the row with the same ``keys``."""
    stmt = dialect_insert(engine, table)
    rest = [c.name for c in table.columns if c.name not in keys]
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in rest}
    )
