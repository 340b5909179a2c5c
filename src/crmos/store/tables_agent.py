"""The agent room's tables: interactions (with their raw files), workspace intents and settings,
knowledge documents and passages, and recommendations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from crmos.store.tables import SeqType, metadata

# One row per e-mail, transcript, screenshot, PDF or message; personal text, erased with its
# file and recommendations by the agent's eraser (crmos.agent.erasure) for data-subject erasure.
interactions = Table(
    "interactions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=True),
    Column("kind", String(16), nullable=False, comment="email|transcript|screenshot|pdf|text"),
    Column("touchpoint", String(64), nullable=False),
    Column("source_name", String(300), nullable=False, comment="file name as received"),
    Column("received_ms", BigInteger, nullable=False),
    Column("occurred_ms", BigInteger, nullable=True),
    Column("status", String(16), nullable=False, comment="ok|unattached|unreadable"),
    Column("reason", Text, nullable=False, default=""),
    Column("language", String(16), nullable=False),
    Column("sender", Text, nullable=False, comment="JSON: email, phone, name"),
    Column("subject", Text, nullable=True),
    Column("text", Text, nullable=False),
    Column("understanding", Text, nullable=False, comment="JSON: intent, sentiment, entities"),
    Column("tags", Text, nullable=False, comment="JSON: touchpoint/intent/action/outcome"),
    Column("intent", String(64), nullable=True),
    Column("message_id", String(200), nullable=True, comment="the event it was logged as"),
    Index("ix_interactions_profile", "workspace_id", "profile_id", "received_ms"),
    Index("ix_interactions_time", "workspace_id", "received_ms"),
)

# The bytes exactly as received, so no input is lost even when it could not be read.
interaction_files = Table(
    "interaction_files",
    metadata,
    Column("interaction_id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# Intents a workspace defines itself, by examples.
agent_intents = Table(
    "agent_intents",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("name", String(64), nullable=False),
    Column("language", String(16), nullable=False),
    Column("example", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_agent_intents_ws", "workspace_id", "name"),
    sqlite_autoincrement=True,
)

agent_settings = Table(
    "agent_settings",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("language", String(16), nullable=False, comment="language of plain-language reasons"),
    Column("updated_ms", BigInteger, nullable=False),
)

knowledge_documents = Table(
    "knowledge_documents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("source", String(500), nullable=False, comment="path relative to the added folder"),
    Column("title", String(300), nullable=False),
    Column("language", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("added_ms", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "source", name="uq_knowledge_source"),
)

# Passages: the unit of retrieval. `terms` is what the full-text index covers (SQLite FTS5 /
# PostgreSQL tsvector, created by crmos.agent.knowledge); `embedding` is float32 with [ml].
knowledge_passages = Table(
    "knowledge_passages",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("document_id", String(40), nullable=False),
    Column("position", BigInteger, nullable=False, comment="0, 1, 2 ... within the document"),
    Column("page", BigInteger, nullable=False),
    Column("start", BigInteger, nullable=False, comment="character offset on the page"),
    Column("end", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("terms", Text, nullable=False),
    Column("embedding", LargeBinary, nullable=True),
    Index("ix_knowledge_passages_doc", "document_id", "position"),
    Index("ix_knowledge_passages_ws", "workspace_id"),
    sqlite_autoincrement=True,
)

recommendations = Table(
    "recommendations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=True),
    Column("interaction_id", String(40), nullable=False),
    Column("action", String(64), nullable=False),
    Column("impact", String(8), nullable=False, comment="low|medium|high"),
    Column("status", String(16), nullable=False, comment="proposed|pending|approved|rejected"),
    Column("title", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("citations", Text, nullable=False, comment="JSON: interactions, events, passages"),
    Column("decision_id", String(40), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("decided_ms", BigInteger, nullable=True),
    Column("approver", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_recommendations_profile", "workspace_id", "profile_id", "created_ms"),
    Index("ix_recommendations_status", "workspace_id", "status"),
)
