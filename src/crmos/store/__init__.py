"""Store: the SQL tables, migrations, dialect quirks, the event log and per-subject data keys.

Every room may import it; it imports only ``crmos.core``.
"""

from crmos.store.engine import create_store_engine, is_sqlite, normalise_url
from crmos.store.eventlog import EventLog, EventQuery
from crmos.store.migrate import current_revision, head_revision, migrate
from crmos.store.offsets import failures, get_offset, record_failure, set_offset
from crmos.store.vault import DataKey, Vault, load_master_key
from crmos.store.workspaces import ApiKey, IssuedKey, Workspace, WorkspaceStore

__all__ = [
    "ApiKey",
    "DataKey",
    "EventLog",
    "EventQuery",
    "IssuedKey",
    "Vault",
    "Workspace",
    "WorkspaceStore",
    "create_store_engine",
    "current_revision",
    "failures",
    "get_offset",
    "head_revision",
    "is_sqlite",
    "load_master_key",
    "migrate",
    "normalise_url",
    "record_failure",
    "set_offset",
]
