"""The agent's consumer of the event stream: attaches interactions to the profile identity made
of their ``Interaction Received`` event, then recommends (in the same transaction).

It runs after identity in the stream, so the profile exists by the time it looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from crmos.agent import profiles, repo
from crmos.core.errors import NotFound
from crmos.core.event import Event
from crmos.ingest import Consumer

if TYPE_CHECKING:
    from crmos.agent.service import AgentService


class AgentConsumer(Consumer):
    """Attaches interactions to profiles as their events are stitched."""

    name = "agent"

    def __init__(self, service: AgentService) -> None:
        self._service = service

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Attach and recommend for each ``Interaction Received`` event still unattached."""
        for event in events:
            if event.type != "track" or event.name != "Interaction Received":
                continue
            props = event.body.get("properties") or {}
            interaction_id = props.get("interaction_id")
            if isinstance(interaction_id, str):
                self._attach(conn, event, interaction_id)

    def _attach(self, conn: Connection, event: Event, interaction_id: str) -> None:
        ws = event.workspace_id
        try:
            item = repo.interaction(conn, ws, interaction_id)
        except NotFound:  # erased since; nothing to attach
            return
        if item["profile_id"] or item["status"] == "unreadable":
            return
        profile_id = profiles.resolve(conn, ws, _identifiers(event))
        if profile_id is None or not repo.attach(conn, ws, interaction_id, profile_id):
            return
        item = repo.interaction(conn, ws, interaction_id)
        self._service.recommender.recommend(conn, item, self._service.language_of(conn, ws))


def _identifiers(event: Event) -> list[tuple[str, str]]:
    traits: Any = (event.body.get("context") or {}).get("traits") or {}
    found = [
        (k, str(traits[k]))
        for k in ("email", "phone")
        if isinstance(traits, dict) and traits.get(k)
    ]
    if event.anonymous_id:
        found.append(("anonymous_id", event.anonymous_id))
    if event.user_id:
        found.append(("user_id", event.user_id))
    return found
