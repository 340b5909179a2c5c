"""SQL for the agent's rows: interactions and their files, workspace intents and language,
recommendations. Every query is scoped by workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from crmos.agent.intents import Example
from crmos.core.clock import now_ms
from crmos.core.errors import NotFound
from crmos.store.tables_agent import (
    agent_intents,
    agent_settings,
    interaction_files,
    interactions,
    recommendations,
)


def dumps(value: Any) -> str:
    """Canonical JSON text."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def insert_interaction(conn: Connection, row: dict[str, Any], raw: bytes, sha256: str) -> None:
    """Store an interaction and its bytes as received (``row['_content_type']``: their type)."""
    row = dict(row)
    content_type = row.pop("_content_type", "application/octet-stream")
    conn.execute(insert(interactions).values(**row))
    conn.execute(
        insert(interaction_files).values(
            interaction_id=row["id"],
            workspace_id=row["workspace_id"],
            content_type=content_type,
            sha256=sha256,
            data=raw,
        )
    )


def interaction(conn: Connection, workspace_id: str, interaction_id: str) -> dict[str, Any]:
    """One interaction as JSON-ready data; ``NotFound`` if not in the workspace."""
    row = conn.execute(
        select(interactions).where(
            interactions.c.workspace_id == workspace_id, interactions.c.id == interaction_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("interaction", interaction_id)
    return as_dict(row)


def list_interactions(
    conn: Connection, workspace_id: str, profile_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Interactions of a workspace (of one profile), newest first."""
    stmt = select(interactions).where(interactions.c.workspace_id == workspace_id)
    if profile_id is not None:
        stmt = stmt.where(interactions.c.profile_id == profile_id)
    rows = conn.execute(stmt.order_by(interactions.c.received_ms.desc()).limit(limit)).all()
    return [as_dict(r) for r in rows]


def raw_file(conn: Connection, workspace_id: str, interaction_id: str) -> tuple[str, bytes]:
    """The content type and bytes an interaction was received as."""
    row = conn.execute(
        select(interaction_files.c.content_type, interaction_files.c.data).where(
            interaction_files.c.workspace_id == workspace_id,
            interaction_files.c.interaction_id == interaction_id,
        )
    ).one_or_none()
    if row is None:
        raise NotFound("interaction", interaction_id)
    return str(row[0]), bytes(row[1])


def as_dict(row: Any) -> dict[str, Any]:
    """An interaction row as JSON-ready data."""
    return {
        "id": row.id,
        "workspace_id": row.workspace_id,
        "profile_id": row.profile_id,
        "kind": row.kind,
        "touchpoint": row.touchpoint,
        "source_name": row.source_name,
        "received_ms": row.received_ms,
        "occurred_ms": row.occurred_ms,
        "status": row.status,
        "reason": row.reason,
        "language": row.language,
        "sender": orjson.loads(row.sender),
        "subject": row.subject,
        "text": row.text,
        "understanding": orjson.loads(row.understanding),
        "tags": orjson.loads(row.tags),
        "message_id": row.message_id,
    }


def attach(conn: Connection, workspace_id: str, interaction_id: str, profile_id: str) -> bool:
    """Attach a still unattached interaction (and its recommendations) to a profile.

    Returns False when another writer attached it first, so only one of them recommends.
    """
    i = interactions.c
    done = conn.execute(
        update(interactions)
        .where(i.workspace_id == workspace_id, i.id == interaction_id, i.profile_id.is_(None))
        .values(profile_id=profile_id, status="ok")
    )
    if done.rowcount != 1:
        return False
    conn.execute(
        update(recommendations)
        .where(
            recommendations.c.workspace_id == workspace_id,
            recommendations.c.interaction_id == interaction_id,
        )
        .values(profile_id=profile_id)
    )
    return True


def set_outcome(conn: Connection, workspace_id: str, interaction_id: str, outcome: str) -> None:
    """Set the outcome tag of an interaction."""
    row = interaction(conn, workspace_id, interaction_id)
    set_tags(conn, workspace_id, interaction_id, {**row["tags"], "outcome": outcome})


def set_tags(
    conn: Connection, workspace_id: str, interaction_id: str, tags: dict[str, Any]
) -> None:
    """Replace the four tags of an interaction."""
    conn.execute(
        update(interactions)
        .where(interactions.c.workspace_id == workspace_id, interactions.c.id == interaction_id)
        .values(tags=dumps(tags))
    )


def add_intent(
    conn: Connection, workspace_id: str, name: str, language: str, examples: Sequence[str]
) -> None:
    """Add examples of a workspace-defined intent."""
    created = now_ms()
    conn.execute(
        insert(agent_intents),
        [
            {"workspace_id": workspace_id, "name": name, "language": language, "example": text,
             "created_ms": created}
            for text in examples
        ],
    )  # fmt: skip


def workspace_examples(conn: Connection, workspace_id: str) -> list[Example]:
    """Every example of the workspace's own intents."""
    rows = conn.execute(
        select(agent_intents.c.name, agent_intents.c.language, agent_intents.c.example)
        .where(agent_intents.c.workspace_id == workspace_id)
        .order_by(agent_intents.c.id)
    ).all()
    return [Example(text=r.example, intent=r.name, language=r.language) for r in rows]


def language(conn: Connection, workspace_id: str) -> str | None:
    """The workspace's language for reasons, if it set one."""
    return conn.execute(
        select(agent_settings.c.language).where(agent_settings.c.workspace_id == workspace_id)
    ).scalar_one_or_none()


def set_language(conn: Connection, workspace_id: str, value: str) -> None:
    """Set the workspace's language for reasons."""
    conn.execute(delete(agent_settings).where(agent_settings.c.workspace_id == workspace_id))
    conn.execute(
        insert(agent_settings).values(
            workspace_id=workspace_id, language=value, updated_ms=now_ms()
        )
    )


def insert_recommendation(conn: Connection, row: dict[str, Any]) -> None:
    """Store a recommendation."""
    conn.execute(insert(recommendations).values(**{**row, "citations": dumps(row["citations"])}))


def recommendation(conn: Connection, workspace_id: str, rec_id: str) -> dict[str, Any]:
    """One recommendation; ``NotFound`` if not in the workspace."""
    row = conn.execute(
        select(recommendations).where(
            recommendations.c.workspace_id == workspace_id, recommendations.c.id == rec_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("recommendation", rec_id)
    return _recommendation(row)


def list_recommendations(
    conn: Connection,
    workspace_id: str,
    profile_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
    interaction_id: str | None = None,
) -> list[dict[str, Any]]:
    """Recommendations, newest first, optionally of one profile, status or interaction."""
    r = recommendations.c
    stmt = select(recommendations).where(r.workspace_id == workspace_id)
    if interaction_id is not None:
        stmt = stmt.where(r.interaction_id == interaction_id)
    if profile_id is not None:
        stmt = stmt.where(r.profile_id == profile_id)
    if status is not None:
        stmt = stmt.where(r.status == status)
    rows = conn.execute(stmt.order_by(r.created_ms.desc(), r.id.desc()).limit(limit)).all()
    return [_recommendation(row) for row in rows]


def decide(conn: Connection, workspace_id: str, rec_id: str, values: dict[str, Any]) -> None:
    """Record an approval or rejection on a recommendation."""
    conn.execute(
        update(recommendations)
        .where(recommendations.c.workspace_id == workspace_id, recommendations.c.id == rec_id)
        .values(**values)
    )


def _recommendation(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "profile_id": row.profile_id,
        "interaction_id": row.interaction_id,
        "action": row.action,
        "impact": row.impact,
        "status": row.status,
        "title": row.title,
        "reason": row.reason,
        "citations": orjson.loads(row.citations),
        "decision_id": row.decision_id,
        "created_ms": row.created_ms,
        "decided_ms": row.decided_ms,
        "approver": row.approver,
        "note": row.note,
    }
