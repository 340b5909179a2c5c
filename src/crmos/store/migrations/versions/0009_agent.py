"""interactions, knowledge passages, recommendations

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _interactions()
    _intents_and_settings()
    _knowledge()
    _recommendations()


def _interactions() -> None:
    op.create_table(
        "interactions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=True),
        sa.Column(
            "kind", sa.String(16), nullable=False, comment="email|transcript|screenshot|pdf|text"
        ),
        sa.Column("touchpoint", sa.String(64), nullable=False),
        sa.Column("source_name", sa.String(300), nullable=False, comment="file name as received"),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("occurred_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, comment="ok|unattached|unreadable"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False, comment="JSON: email, phone, name"),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "understanding",
            sa.Text(),
            nullable=False,
            comment="JSON: intent, sentiment, entities",
        ),
        sa.Column(
            "tags", sa.Text(), nullable=False, comment="JSON: touchpoint/intent/action/outcome"
        ),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column(
            "message_id", sa.String(200), nullable=True, comment="the event it was logged as"
        ),
    )
    op.create_index(
        "ix_interactions_profile", "interactions", ["workspace_id", "profile_id", "received_ms"]
    )
    op.create_index("ix_interactions_time", "interactions", ["workspace_id", "received_ms"])
    op.create_table(
        "interaction_files",
        sa.Column("interaction_id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def _intents_and_settings() -> None:
    op.create_table(
        "agent_intents",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_agent_intents_ws", "agent_intents", ["workspace_id", "name"])
    op.create_table(
        "agent_settings",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column(
            "language",
            sa.String(16),
            nullable=False,
            comment="language of plain-language reasons",
        ),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )


def _knowledge() -> None:
    op.create_table(
        "knowledge_documents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column(
            "source",
            sa.String(500),
            nullable=False,
            comment="path relative to the added folder",
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("added_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("workspace_id", "source", name="uq_knowledge_source"),
    )
    op.create_table(
        "knowledge_passages",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("document_id", sa.String(40), nullable=False),
        sa.Column(
            "position", sa.BigInteger(), nullable=False, comment="0, 1, 2 ... within the document"
        ),
        sa.Column("page", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False, comment="character offset on the page"),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_knowledge_passages_doc", "knowledge_passages", ["document_id", "position"])
    op.create_index("ix_knowledge_passages_ws", "knowledge_passages", ["workspace_id"])


def _recommendations() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("profile_id", sa.String(40), nullable=True),
        sa.Column("interaction_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("impact", sa.String(8), nullable=False, comment="low|medium|high"),
        sa.Column(
            "status", sa.String(16), nullable=False, comment="proposed|pending|approved|rejected"
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "citations", sa.Text(), nullable=False, comment="JSON: interactions, events, passages"
        ),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("decided_ms", sa.BigInteger(), nullable=True),
        sa.Column("approver", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_recommendations_profile",
        "recommendations",
        ["workspace_id", "profile_id", "created_ms"],
    )
    op.create_index("ix_recommendations_status", "recommendations", ["workspace_id", "status"])


def downgrade() -> None:
    for index, table in (
        ("ix_recommendations_status", "recommendations"),
        ("ix_recommendations_profile", "recommendations"),
        ("ix_knowledge_passages_ws", "knowledge_passages"),
        ("ix_knowledge_passages_doc", "knowledge_passages"),
        ("ix_agent_intents_ws", "agent_intents"),
        ("ix_interactions_time", "interactions"),
        ("ix_interactions_profile", "interactions"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "recommendations",
        "knowledge_passages",
        "knowledge_documents",
        "agent_settings",
        "agent_intents",
        "interaction_files",
        "interactions",
    ):
        op.drop_table(table)
