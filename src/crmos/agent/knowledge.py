"""Knowledge: documents (contracts, product docs, talk tracks) cut into passages and indexed
for full-text retrieval, plus embeddings when the ``[ml]`` extra is installed.

The full-text index covers each passage's ``terms`` (stemmed English words and Chinese
character bigrams, see :func:`crmos.agent.text.search_terms`): SQLite FTS5 ranked by BM25, or
PostgreSQL ``to_tsvector('simple', terms)`` ranked by ``ts_rank``. The index is derived data:
it is created on first use (``CREATE ... IF NOT EXISTS``) rather than declared among the
tables, because an FTS5 virtual table and its shadow tables cannot be declared in SQLAlchemy
metadata; it can be rebuilt from ``knowledge_passages`` at any time.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from crmos.agent import embeddings
from crmos.agent.documents import read_pdf
from crmos.agent.text import detect_language, search_terms
from crmos.core.clock import now_ms
from crmos.core.ids import new_id
from crmos.core.logsafe import get_logger
from crmos.core.settings import AgentSettings
from crmos.store import fulltext
from crmos.store.tables_agent import knowledge_documents, knowledge_passages

log = get_logger(__name__)  # exception messages withheld (core.logsafe)
TEXT_TYPES = (".md", ".txt", ".markdown", ".rst", ".html", ".htm")
PASSAGE_CHARS = 600


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage with where it comes from."""

    document_id: str
    source: str
    title: str
    page: int
    start: int
    end: int
    position: int
    text: str
    score: float

    @property
    def citation(self) -> str:
        """``source p.PAGE [start:end]``, the way a reason cites it."""
        return f"{self.source} p.{self.page} [{self.start}:{self.end}]"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "document_id": self.document_id,
            "source": self.source,
            "title": self.title,
            "page": self.page,
            "span": [self.start, self.end],
            "position": self.position,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class AddReport:
    """What ``knowledge add`` did."""

    added: int
    unchanged: int
    skipped: list[tuple[str, str]]
    passages: int


def chunks(page: str, size: int = PASSAGE_CHARS) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of passages on a page: paragraphs merged up to ``size`` characters."""
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", page)]
    start = end = -1
    for p_start, p_end in paragraphs:
        if start < 0:
            start, end = p_start, p_end
        elif p_end - start <= size:
            end = p_end
        else:
            yield start, end
            start, end = p_start, p_end
    if start >= 0:
        yield start, end


class KnowledgeBase:
    """Adds documents and retrieves passages in one workspace's store."""

    def __init__(self, engine: Engine, settings: AgentSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._index_ready = False
        self._lock = threading.Lock()
        self._embed = settings.embeddings == "auto" and embeddings.available()

    def add_folder(self, workspace_id: str, folder: Path) -> AddReport:
        """Index every readable file under ``folder`` (re-adding a changed file replaces it)."""
        added = unchanged = passages = 0
        skipped: list[tuple[str, str]] = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            source = path.relative_to(folder).as_posix()
            pages, problem = self._pages(path)
            if problem:
                skipped.append((source, problem))
                continue
            count = self.add(workspace_id, source, path.stem, pages, path.read_bytes())
            added, unchanged = (added + 1, unchanged) if count else (added, unchanged + 1)
            passages += count
        return AddReport(added, unchanged, skipped, passages)

    def _pages(self, path: Path) -> tuple[list[str], str]:
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            document = read_pdf(path.name, path.read_bytes(), self._settings)
            return list(document.pages), "" if document.readable else document.reason
        if suffix not in TEXT_TYPES:
            return [], f"unsupported type '{suffix}' (use .pdf, {', '.join(TEXT_TYPES)})"
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return [], "not UTF-8 text"
        if suffix in (".html", ".htm"):
            raw = re.sub(r"<[^>]+>", " ", raw)
        return ([raw], "") if raw.strip() else ([], "empty file")

    def add(
        self, workspace_id: str, source: str, title: str, pages: Sequence[str], raw: bytes
    ) -> int:
        """Index one document; returns its passage count (0 when unchanged)."""
        digest = hashlib.sha256(raw).hexdigest()
        rows = [
            (number, start, end, page[start:end])
            for number, page in enumerate(pages, start=1)
            for start, end in chunks(page)
        ]
        vectors = embeddings.embed([r[3] for r in rows]) if self._embed and rows else None
        with self._engine.begin() as conn:
            self._ensure_index(conn)
            if self._current_digest(conn, workspace_id, source) == digest:
                return 0
            self._remove(conn, workspace_id, source)
            doc_id = new_id("kd_")
            conn.execute(
                insert(knowledge_documents).values(
                    id=doc_id, workspace_id=workspace_id, source=source, title=title[:300],
                    language=detect_language(" ".join(pages)[:5000]), sha256=digest,
                    added_ms=now_ms(),
                )
            )  # fmt: skip
            for position, (page, start, end, body) in enumerate(rows):
                vector = vectors[position] if vectors else None
                self._insert_passage(
                    conn, workspace_id, doc_id, position, page, start, end, body, vector
                )
        return len(rows)

    def _insert_passage(
        self, conn: Connection, ws: str, doc_id: str, position: int, page: int, start: int,
        end: int, body: str, vector: bytes | None,
    ) -> None:  # fmt: skip
        terms = " ".join(search_terms(body))
        result = conn.execute(
            insert(knowledge_passages).values(
                workspace_id=ws, document_id=doc_id, position=position, page=page,
                start=start, end=end, text=body, terms=terms, embedding=vector,
            )
        )  # fmt: skip
        seq = result.inserted_primary_key[0] if result.inserted_primary_key else None
        fulltext.index_passage(conn, seq, terms)

    def _current_digest(self, conn: Connection, ws: str, source: str) -> str | None:
        return conn.execute(
            select(knowledge_documents.c.sha256).where(
                knowledge_documents.c.workspace_id == ws, knowledge_documents.c.source == source
            )
        ).scalar_one_or_none()

    def _remove(self, conn: Connection, ws: str, source: str) -> None:
        doc_ids = select(knowledge_documents.c.id).where(
            knowledge_documents.c.workspace_id == ws, knowledge_documents.c.source == source
        )
        fulltext.unindex_source(conn, ws, source)
        conn.execute(
            delete(knowledge_passages).where(knowledge_passages.c.document_id.in_(doc_ids))
        )
        conn.execute(delete(knowledge_documents).where(knowledge_documents.c.id.in_(doc_ids)))

    def _ensure_index(self, conn: Connection) -> None:
        if self._index_ready:
            return
        fulltext.ensure_index(self._engine, conn, self._lock)
        self._index_ready = True

    def search(
        self, workspace_id: str, query: str, limit: int = 5, conn: Connection | None = None
    ) -> list[Passage]:
        """The passages that best match ``query`` (full text, then embeddings when present).

        Pass ``conn`` to search inside the caller's transaction (a stream consumer's).
        """
        terms = sorted(set(search_terms(query)))
        if not terms:
            return []
        if conn is None:
            with self._engine.begin() as own:
                return self.search(workspace_id, query, limit, own)
        self._ensure_index(conn)
        hits = self._full_text(conn, workspace_id, terms, limit * 4)
        if self._embed and hits:
            hits = self._rerank(conn, query, hits)
        return hits[:limit]

    def _full_text(self, conn: Connection, ws: str, terms: list[str], limit: int) -> list[Passage]:
        return self._passages(conn, fulltext.search(conn, ws, terms, limit))

    def _passages(self, conn: Connection, scored: list[tuple[int, float]]) -> list[Passage]:
        if not scored:
            return []
        p, d = knowledge_passages, knowledge_documents
        rows = conn.execute(
            select(p, d.c.source, d.c.title)
            .join(d, d.c.id == p.c.document_id)
            .where(p.c.seq.in_([s for s, _ in scored]))
        ).all()
        by_seq = {row.seq: row for row in rows}
        return [
            Passage(r.document_id, r.source, r.title, r.page, r.start, r.end, r.position, r.text, s)
            for seq, s in scored
            if (r := by_seq.get(seq)) is not None
        ]

    def _rerank(self, conn: Connection, query: str, hits: list[Passage]) -> list[Passage]:
        kp = knowledge_passages
        seqs = conn.execute(
            select(kp.c.document_id, kp.c.position, kp.c.embedding).where(
                kp.c.document_id.in_({h.document_id for h in hits})
            )
        ).all()
        vectors = {(r[0], r[1]): r[2] for r in seqs if r[2]}
        keyed = [h for h in hits if (h.document_id, h.position) in vectors]
        if not keyed:
            return hits
        sims = embeddings.similarity(
            embeddings.embed([query])[0], [vectors[(h.document_id, h.position)] for h in keyed]
        )
        ranked = sorted(zip(keyed, sims, strict=True), key=lambda pair: -pair[1])
        return [h for h, _ in ranked] + [h for h in hits if h not in keyed]

    def count(self, workspace_id: str) -> tuple[int, int]:
        """Documents and passages held for ``workspace_id``."""
        with self._engine.connect() as conn:
            docs = conn.execute(
                select(knowledge_documents.c.id).where(
                    knowledge_documents.c.workspace_id == workspace_id
                )
            ).all()
            passages = conn.execute(
                select(knowledge_passages.c.seq).where(
                    knowledge_passages.c.workspace_id == workspace_id
                )
            ).all()
        return len(docs), len(passages)
