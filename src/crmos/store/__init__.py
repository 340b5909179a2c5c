"""Store: the SQL tables, migrations, dialect quirks, the event log (hot SQL, warm and cold
Parquet tiers read through DuckDB) and per-subject data keys.

Every room may import it; it imports only ``crmos.core``.

The event log, the tiers (pyarrow, DuckDB, fsspec) and the vault (cryptography) load on first
use of one of their names (PEP 562), so a quick command such as ``crmos workspace list`` pays
only for SQLAlchemy and the tables.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crmos.store import tables_agent as tables_agent
from crmos.store import tables_analytics as tables_analytics
from crmos.store import tables_compliance as tables_compliance
from crmos.store import tables_graph as tables_graph
from crmos.store import tables_identity as tables_identity
from crmos.store import tables_matching as tables_matching
from crmos.store import tables_playbooks as tables_playbooks
from crmos.store import tables_records as tables_records
from crmos.store import tables_sagas as tables_sagas
from crmos.store import tables_stream as tables_stream
from crmos.store import tables_tiers as tables_tiers
from crmos.store.dialect import (
    begin_write,
    deleted_rows_note,
    flush_deleted,
    integrity_errors,
    placeholder,
    secure_delete,
    single_writer,
)
from crmos.store.engine import (
    checkpoint_engine,
    create_store_engine,
    driverless_url,
    is_sqlite,
    is_sqlite_url,
    normalise_url,
    sqlite_path,
)
from crmos.store.erasure import (
    EVENT_LOG,
    RECORDS,
    EventLogEraser,
    RecordsEraser,
    holds_any,
    in_chunks,
    pseudonymise_rows,
)
from crmos.store.migrate import current_revision, head_revision, migrate
from crmos.store.offsets import failures, get_offset, record_failure, set_offset
from crmos.store.records import (
    AuditBreak,
    Decision,
    append_audit,
    audit_count,
    audit_entries,
    chain_entries,
    decisions_of,
    get_decision,
    record_decision,
    record_decisions,
    verify_audit,
    write_audit_rows,
)
from crmos.store.sessions import SessionStore, SignedIn
from crmos.store.workspaces import ApiKey, IssuedKey, Workspace, WorkspaceStore

if TYPE_CHECKING:  # loaded by __getattr__ at run time
    from crmos.store.eventlog import EventLog, EventQuery, erased_seqs, log_head, subject_events
    from crmos.store.tiers import TierPolicy, TierReport, Tiers, tiers_of
    from crmos.store.tiers_erase import TIERS, TiersEraser, rewrite_pending, scan_parquet
    from crmos.store.tiers_files import TierFiles
    from crmos.store.tiers_read import HistoryRow, tier_file_urls
    from crmos.store.vault import DataKey, Vault, load_master_key

_LAZY = {
    "crmos.store.eventlog": ("EventLog", "EventQuery", "erased_seqs", "log_head", "subject_events"),
    "crmos.store.tiers": ("TierPolicy", "TierReport", "Tiers", "tiers_of"),
    "crmos.store.tiers_erase": ("TIERS", "TiersEraser", "rewrite_pending", "scan_parquet"),
    "crmos.store.tiers_files": ("TierFiles",),
    "crmos.store.tiers_read": ("HistoryRow", "tier_file_urls"),
    "crmos.store.vault": ("DataKey", "Vault", "load_master_key"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


# Hidden from type checkers: they see the names above, and still flag a misspelt one.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """A lazily loaded public name: its module is imported on first use, then cached here."""
        module = _HOME.get(name)
        if module is None:
            raise AttributeError(f"module 'crmos.store' has no attribute {name!r}")
        loaded = importlib.import_module(module)
        for other in _LAZY[module]:
            globals()[other] = getattr(loaded, other)
        return globals()[name]

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_HOME))


__all__ = [
    "EVENT_LOG",
    "RECORDS",
    "TIERS",
    "ApiKey",
    "AuditBreak",
    "DataKey",
    "Decision",
    "EventLog",
    "EventLogEraser",
    "EventQuery",
    "HistoryRow",
    "IssuedKey",
    "RecordsEraser",
    "SessionStore",
    "SignedIn",
    "TierFiles",
    "TierPolicy",
    "TierReport",
    "Tiers",
    "TiersEraser",
    "Vault",
    "Workspace",
    "WorkspaceStore",
    "append_audit",
    "audit_count",
    "audit_entries",
    "begin_write",
    "chain_entries",
    "checkpoint_engine",
    "create_store_engine",
    "current_revision",
    "decisions_of",
    "deleted_rows_note",
    "driverless_url",
    "erased_seqs",
    "failures",
    "flush_deleted",
    "get_decision",
    "get_offset",
    "head_revision",
    "holds_any",
    "in_chunks",
    "integrity_errors",
    "is_sqlite",
    "is_sqlite_url",
    "load_master_key",
    "log_head",
    "migrate",
    "normalise_url",
    "placeholder",
    "pseudonymise_rows",
    "record_decision",
    "record_decisions",
    "record_failure",
    "rewrite_pending",
    "scan_parquet",
    "secure_delete",
    "set_offset",
    "single_writer",
    "sqlite_path",
    "subject_events",
    "tables_agent",
    "tables_analytics",
    "tables_compliance",
    "tables_graph",
    "tables_identity",
    "tables_matching",
    "tables_playbooks",
    "tables_records",
    "tables_sagas",
    "tables_stream",
    "tables_tiers",
    "tier_file_urls",
    "tiers_of",
    "verify_audit",
    "write_audit_rows",
]
