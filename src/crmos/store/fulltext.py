"""Full-text search over knowledge passages (the agent room's), spelled per dialect here only.

SQLite: an FTS5 table ``knowledge_fts`` with ``knowledge_passages`` as its external content,
kept in step by hand (an external-content index is told each row it gains and loses), ranked by
bm25. PostgreSQL: a GIN index on ``to_tsvector('simple', terms)``, ranked by ``ts_rank``; the
index follows the table by itself, so the bookkeeping functions do nothing there.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from crmos.core.logsafe import get_logger

log = get_logger(__name__)  # exception messages withheld (core.logsafe)
PG_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_knowledge_passages_fts ON knowledge_passages "
    "USING gin (to_tsvector('simple', terms))"
)
_ADD = "INSERT INTO knowledge_fts(rowid, terms) VALUES (:seq, :terms)"
_DROP = "INSERT INTO knowledge_fts(knowledge_fts, rowid, terms) VALUES ('delete', :seq, :terms)"


def _sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def ensure_index(engine: Engine, conn: Connection, lock: threading.Lock) -> None:
    """Create the full-text index if it is missing (``lock`` serialises this process's tries)."""
    if _sqlite(conn):  # one writer at a time: create it in this transaction
        conn.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_fts USING fts5(terms, "
                "content='knowledge_passages', content_rowid='seq')"
            )
        )
        return
    # On its own connection, so a concurrent creator cannot abort the caller's work.
    with lock, engine.connect() as own:
        own = own.execution_options(isolation_level="AUTOCOMMIT")
        try:
            own.execute(text(PG_INDEX))
        except DBAPIError:  # another process created it at the same moment
            log.info("full-text index created concurrently", exc_info=True)


def index_passage(conn: Connection, seq: int | None, terms: str) -> None:
    """Index a passage just inserted with number ``seq`` and search ``terms``."""
    if _sqlite(conn):
        conn.execute(text(_ADD), {"seq": seq, "terms": terms})


def reindex_passage(conn: Connection, seq: int, old_terms: str, new_terms: str) -> None:
    """A passage's terms change from ``old_terms`` to ``new_terms`` (an erasure redacts it)."""
    if _sqlite(conn) and _has_index(conn):
        conn.execute(text(_DROP), {"seq": seq, "terms": old_terms})
        conn.execute(text(_ADD), {"seq": seq, "terms": new_terms})


def unindex_source(conn: Connection, workspace_id: str, source: str) -> None:
    """Drop the passages of the workspace's document ``source`` from the index (before they
    are deleted: an external-content index needs their terms to forget them)."""
    if _sqlite(conn):
        conn.execute(
            text(
                "INSERT INTO knowledge_fts(knowledge_fts, rowid, terms) SELECT 'delete', seq, "
                "terms FROM knowledge_passages WHERE document_id IN (SELECT id FROM "
                "knowledge_documents WHERE workspace_id = :ws AND source = :source)"
            ),
            {"ws": workspace_id, "source": source},
        )


def search(
    conn: Connection, workspace_id: str, terms: list[str], limit: int
) -> list[tuple[int, float]]:
    """(passage seq, score) of the best ``limit`` passages holding any of ``terms``, best first."""
    if _sqlite(conn):
        sql = (
            "SELECT p.seq, -bm25(knowledge_fts) AS score FROM knowledge_fts JOIN "
            "knowledge_passages p ON p.seq = knowledge_fts.rowid WHERE knowledge_fts MATCH "
            ":q AND p.workspace_id = :ws ORDER BY bm25(knowledge_fts) LIMIT :n"
        )
        query = " OR ".join(f'"{t}"' for t in terms)
    else:
        sql = (
            "SELECT seq, ts_rank(to_tsvector('simple', terms), q) AS score FROM "
            "knowledge_passages, to_tsquery('simple', :q) q WHERE workspace_id = :ws AND "
            "to_tsvector('simple', terms) @@ q ORDER BY score DESC, seq LIMIT :n"
        )
        query = " | ".join(terms)
    scored = conn.execute(text(sql), {"q": query, "ws": workspace_id, "n": limit}).all()
    return [(int(r[0]), float(r[1])) for r in scored]


def _has_index(conn: Connection) -> bool:
    return bool(
        conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'knowledge_fts'"
        ).first()
    )
