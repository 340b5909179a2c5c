"""The analytics room's part of an erasure: the person's stored value and likelihoods.

Fitted models hold population parameters only (no profile's data), and the Decisions that
recorded predictions belong to the store's records, erased by the store's eraser.
"""

from __future__ import annotations

from sqlalchemy import Connection

from crmos.analytics.repo import delete_values
from crmos.core.datamap import DataMap, Erased, Holding, Person

DATA_MAP = DataMap(
    room="analytics",
    holdings=(
        Holding(
            "table",
            "analytics_values",
            ("profile_id", "frequency", "recency", "monetary", "clv", "reasons"),
            "profile_id in the tree",
        ),
    ),
    note="analytics_models holds population parameters only",
)


class AnalyticsEraser:
    """The analytics room's eraser."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Delete ``person``'s values (the next refresh no longer sees their events either)."""
        count = delete_values(conn, person.workspace_id, list(person.profile_ids))
        return Erased({"analytics_values": count})
