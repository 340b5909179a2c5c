"""The triggers room's data map: it holds nothing about a person itself.

Windows, patterns and timers are evaluated here, but their per-profile state is stored by the
playbooks room (``trigger_state``, ``playbook_timers``), whose eraser forgets it.
"""

from __future__ import annotations

from crmos.core.datamap import DataMap

DATA_MAP = DataMap(
    room="triggers",
    note="stateless: per-profile window state is stored and erased by playbooks (trigger_state)",
)
