"""What a sandbox violation leaves behind: an audit chain entry, a Decision, and for a network
attempt a row in ``component_refusals`` (the table the refusals view already reads)."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from crmos.core.clock import now_ms
from crmos.playbooks.components import Violation
from crmos.store import Decision, append_audit, record_decision
from crmos.store.tables_playbooks import component_refusals

ACTION = "component.sandbox_refused"


def record_violation(conn: Connection, violation: Violation, version: str) -> str:
    """Record ``violation`` in the caller's transaction; returns the Decision's id."""
    workspace = violation.workspace_id or ""
    details = {
        "component": violation.component,
        "kind": violation.kind,
        "detail": violation.detail,
        "target": violation.target,
        "version": version,
    }
    append_audit(conn, workspace, violation.component, ACTION, violation.run_id, details)
    if violation.kind == "network":
        row = {
            "workspace_id": workspace,
            "run_id": violation.run_id,
            "at_ms": now_ms(),
            "component": violation.component,
            "host": violation.target[:255],
        }
        conn.execute(insert(component_refusals).values(**row))
    return record_decision(
        conn,
        Decision(
            workspace_id=workspace,
            kind=ACTION,
            rule=violation.component,
            version=version,
            reason=f"the sandbox stopped {violation.component}: {violation.detail}",
            subject_profile_id=violation.profile_id,
            inputs={"run_id": violation.run_id, "kind": violation.kind},
            actions=[{"action": violation.component, "outcome": "stopped"}],
        ),
    )
