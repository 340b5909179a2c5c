"""The playbooks' part of an erasure: trigger window state, timers and firings.

The triggers room evaluates windows and patterns but stores nothing; the per-profile window
state it computes is kept here (``trigger_state``), keyed by profile. A firing's request holds
the run input it started (an e-mail address, a name): the person's firings go, and any other
firing quoting them keeps its row with their strings replaced.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete

from crmos.core.datamap import DataMap, Erased, Holding, Person
from crmos.store import in_chunks, pseudonymise_rows
from crmos.store.tables_playbooks import playbook_firings, playbook_timers, trigger_state

DATA_MAP = DataMap(
    room="playbooks",
    holdings=(
        Holding("table", "trigger_state", ("state",), "profile_id in the tree"),
        Holding("table", "playbook_timers", ("profile_id",), "profile_id in the tree"),
        Holding("table", "playbook_firings", ("request", "reason"), "profile_id in the tree"),
    ),
    note="Decision records of firings stay, pseudonymised by the records eraser.",
)


class PlaybooksEraser:
    """Deletes the person's window state, timers and firings."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Forget ``person`` in every playbook."""
        ws, tree = person.workspace_id, person.profile_ids
        counts = {}
        for table in (trigger_state, playbook_timers, playbook_firings):
            where = (table.c.workspace_id == ws) & in_chunks(table.c.profile_id, tree)
            counts[table.name] = conn.execute(delete(table).where(where)).rowcount or 0
        counts["playbook_firings"] += pseudonymise_rows(
            conn,
            playbook_firings,
            playbook_firings.c.workspace_id == ws,
            ("request", "reason"),
            person.needles,
        )
        counts["trigger_state"] += pseudonymise_rows(
            conn, trigger_state, trigger_state.c.workspace_id == ws, ("state",), person.needles
        )
        return Erased(counts)
