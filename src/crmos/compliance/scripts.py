"""The script check: outbound scripts (calls, messages) must not use a region's forbidden words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from crmos.compliance.packbook import in_force, mark_enforced
from crmos.compliance.settings_store import read_config
from crmos.core.clock import now_ms
from crmos.store import Decision, record_decision


@dataclass(frozen=True, slots=True)
class ScriptCheck:
    """Whether a script may be used in some regions, and the forbidden words it contains."""

    allowed: bool
    found: dict[str, list[str]] = field(default_factory=dict)
    packs: dict[str, str] = field(default_factory=dict)
    decision_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "allowed": self.allowed,
            "found": self.found,
            "packs": self.packs,
            "decision_id": self.decision_id,
        }


def check_script(
    conn: Connection,
    workspace_id: str,
    regions: Sequence[str],
    text: str,
    profile_id: str | None = None,
) -> ScriptCheck:
    """Check ``text`` against the forbidden words of every enabled pack governing ``regions``.

    A refused script is recorded as a Decision naming the words and the packs.
    """
    now = now_ms()
    config = read_config(conn, workspace_id)
    versions = {
        n: v
        for n, v in in_force(conn, workspace_id, config.packs, now).items()
        if any(v.spec.governs(r) for r in regions)
    }
    found = {n: words for n, v in versions.items() if (words := v.spec.forbidden_in(text))}
    mark_enforced(conn, versions.values(), now)
    packs = {n: v.version for n, v in versions.items()}
    if not found:
        return ScriptCheck(True, {}, packs)
    pack = sorted(found)[0]
    listed = "; ".join(f"{n}: {', '.join(w)}" for n, w in sorted(found.items()))
    decision_id = record_decision(
        conn,
        Decision(
            workspace_id=workspace_id,
            kind="compliance.script_refused",
            rule=pack,
            version=versions[pack].version,
            reason=f"the script uses words forbidden in {', '.join(regions)} ({listed})",
            subject_profile_id=profile_id,
            inputs={"regions": list(regions), "packs": packs},
            actions=[{"action": "script", "outcome": "refused"}],
        ),
    )
    return ScriptCheck(False, found, packs, decision_id)
