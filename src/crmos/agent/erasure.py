"""The agent's part of an erasure: interactions and their raw files, recommendations,
knowledge passages, workspace intent examples and the intent-model caches trained on them.

The person's own interactions (attached to their profile, or still unattached but sent from
their e-mail address or phone) go whole: the row, the bytes as received (a raw ``.eml`` holds
the name, address and signature) and the recommendations made on them. Where somebody else's
interaction, a knowledge passage or an intent example mentions the person, their strings are
replaced by aliases and the raw bytes rewritten likewise; search terms and the full-text index
follow the new text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Delete,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from crmos.agent.intent_models import IntentModels
from crmos.agent.text import search_terms
from crmos.core.datamap import DataMap, Erased, Holding, Person, alias, mentions, redact
from crmos.store import fulltext, holds_any, in_chunks, pseudonymise_rows
from crmos.store.dialect import blob_contains
from crmos.store.erasure import spellings
from crmos.store.tables_agent import (
    agent_intents,
    interaction_files,
    interactions,
    knowledge_documents,
    knowledge_passages,
    recommendations,
)

DATA_MAP = DataMap(
    room="agent",
    holdings=(
        Holding(
            "table",
            "interactions",
            ("sender", "subject", "text", "understanding", "source_name"),
            "profile_id in the tree, or sent from the person's e-mail or phone",
        ),
        Holding(
            "table",
            "interaction_files",
            ("data",),
            "the interaction it belongs to; bytes rewritten where another's mentions the person",
        ),
        Holding("table", "recommendations", ("title", "reason", "note"), "profile or interaction"),
        Holding(
            "table",
            "knowledge_passages",
            ("text", "terms", "embedding"),
            "the person's strings in the text",
            "pseudonymise",
        ),
        Holding(
            "table",
            "knowledge_documents",
            ("title", "source"),
            "the person's strings",
            "pseudonymise",
        ),
        Holding("table", "agent_intents", ("example",), "the person's strings", "pseudonymise"),
        Holding(
            "cache",
            "HOME/models/intent-*.pkl",
            ("training texts",),
            "a cache file holding a string, or trained on a rewritten example",
        ),
    ),
    note="The full-text index (SQLite FTS5 / PostgreSQL GIN) is rebuilt from the rewritten terms.",
)
_OTHERS = ("sender", "subject", "text", "understanding", "source_name")


class AgentEraser:
    """The agent room's eraser; ``models`` is the process's intent-model cache."""

    def __init__(self, models: IntentModels | None = None) -> None:
        self._models = models

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Forget ``person`` in interactions, recommendations, knowledge and model caches."""
        ws, needles = person.workspace_id, person.needles
        ids = self._own_interactions(conn, person)
        r, i = recommendations.c, interactions.c
        counts = {
            "recommendations": _rows(
                conn,
                delete(recommendations).where(
                    r.workspace_id == ws,
                    in_chunks(r.profile_id, person.profile_ids) | in_chunks(r.interaction_id, ids),
                ),
            ),
            "interaction_files": _rows(
                conn,
                delete(interaction_files).where(
                    interaction_files.c.workspace_id == ws,
                    in_chunks(interaction_files.c.interaction_id, ids),
                ),
            ),
            "interactions": _rows(
                conn, delete(interactions).where(i.workspace_id == ws, in_chunks(i.id, ids))
            ),
        }
        counts["interactions"] += pseudonymise_rows(conn, interactions, i.workspace_id == ws,
                                                    _OTHERS, needles)  # fmt: skip
        counts["interaction_files"] += self._rewrite_files(conn, ws, needles)
        counts["recommendations"] += pseudonymise_rows(
            conn, recommendations, r.workspace_id == ws, ("title", "reason", "note"), needles
        )
        counts["knowledge_passages"] = self._rewrite_passages(conn, ws, needles)
        k = knowledge_documents.c
        counts["knowledge_documents"] = pseudonymise_rows(
            conn, knowledge_documents, k.workspace_id == ws, ("title", "source"), needles
        )
        counts["agent_intents"] = pseudonymise_rows(
            conn, agent_intents, agent_intents.c.workspace_id == ws, ("example",), needles
        )
        counts["model_caches"] = self._drop_caches(needles, retrained=counts["agent_intents"] > 0)
        return Erased(counts)

    def _own_interactions(self, conn: Connection, person: Person) -> list[str]:
        i = interactions.c
        ws = person.workspace_id
        found = set(
            conn.execute(
                select(i.id).where(
                    i.workspace_id == ws, in_chunks(i.profile_id, person.profile_ids)
                )
            ).scalars()
        )
        contacts = [v for t, v in person.identifiers if t in ("email", "phone")]
        if contacts:
            rows = conn.execute(
                select(i.id, i.sender).where(
                    i.workspace_id == ws,
                    i.profile_id.is_(None),
                    holds_any(i.sender, contacts),
                )
            ).all()
            found |= {row.id for row in rows if mentions(row.sender, contacts)}
        return sorted(found)

    def _rewrite_files(self, conn: Connection, ws: str, needles: tuple[str, ...]) -> int:
        """Rewrite the raw bytes of other people's interactions that mention the person."""
        f, i = interaction_files.c, interactions.c
        # Candidates only: files whose bytes hold a spelling as written, and files whose text as
        # read (any case) quotes the person; never every file of the workspace.
        forms = [form.encode() for form in spellings(needles)]
        ids = set(
            conn.execute(
                select(f.interaction_id).where(
                    f.workspace_id == ws, _bytes_hold(conn, f.data, forms)
                )
            ).scalars()
        )
        quoted = or_(*(holds_any(i[c], needles) for c in ("sender", "subject", "text")))
        ids |= set(conn.execute(select(i.id).where(i.workspace_id == ws, quoted)).scalars())
        ids_list = sorted(ids)
        changed = 0
        for start in range(0, len(ids_list), 100):  # a hundred files in memory at a time
            part = ids_list[start : start + 100]
            for row in conn.execute(
                select(f.interaction_id, f.data).where(f.interaction_id.in_(part))
            ).all():
                data = bytes(row.data)
                new = redact_bytes(data, needles)
                if new != data:
                    conn.execute(
                        update(interaction_files)
                        .where(f.interaction_id == row.interaction_id)
                        .values(data=new)
                    )
                    changed += 1
        return changed

    def _rewrite_passages(self, conn: Connection, ws: str, needles: tuple[str, ...]) -> int:
        """Rewrite passages quoting the person; their terms and full-text entries follow."""
        p = knowledge_passages.c
        changed = 0
        quoted = holds_any(p.text, needles) | holds_any(p.terms, needles)
        rows = conn.execute(
            select(p.seq, p.text, p.terms).where(p.workspace_id == ws, quoted)
        ).all()
        for row in rows:
            if not mentions(row.text, needles) and not mentions(row.terms, needles):
                continue
            body = redact(row.text, needles)
            terms = " ".join(search_terms(body))
            fulltext.reindex_passage(conn, row.seq, row.terms, terms)
            # The embedding was computed from the old text: it goes (retrieval falls back to
            # full-text for this passage) rather than keep a vector of the person's words.
            conn.execute(
                update(knowledge_passages)
                .where(p.seq == row.seq)
                .values(text=body, terms=terms, embedding=None)
            )
            changed += 1
        return changed

    def _drop_caches(self, needles: tuple[str, ...], retrained: bool) -> int:
        """Delete intent-model cache files holding the person's strings (rebuilt on use)."""
        if self._models is None:
            return 0
        # Files are large (tens of MB): one ASCII-lowered copy, then plain substring searches.
        forms = [n.casefold().encode() for n in needles]
        hit = [
            path
            for path in self._models.cache_files()
            if retrained or _holds_any(_read(path).lower(), forms)
        ]
        return self._models.forget(hit)


def redact_bytes(data: bytes, needles: tuple[str, ...]) -> bytes:
    """``data`` with every needle (UTF-8, any case, also JSON-escaped) replaced by its alias."""
    for needle in sorted(set(needles), key=len, reverse=True):
        replacement = alias(needle).encode()
        for form in {needle, needle.encode("unicode_escape").decode("ascii")}:
            pattern = re.compile(re.escape(form.encode()), re.IGNORECASE)
            data = pattern.sub(replacement, data)
    return data


def _bytes_hold(
    conn: Connection, column: ColumnElement[Any], forms: list[bytes]
) -> ColumnElement[bool]:
    """``column`` (binary) holds any of ``forms`` byte for byte."""
    return or_(*(blob_contains(conn, column, form) for form in forms))


def _holds_any(data: bytes, forms: list[bytes]) -> bool:
    return any(f in data for f in forms)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _rows(conn: Connection, stmt: Delete) -> int:
    return conn.execute(stmt).rowcount or 0
