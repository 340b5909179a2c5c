"""Compliance reviews of components: pending, approved or rejected, per workspace and version.

A component installed from the marketplace enters as ``pending review``; a person holding the
``compliance`` scope approves or rejects it with a reason (each decision is an audit chain
entry). crmos's own components count as approved. Only approved components may appear in a
published playbook; a new version of a component is pending again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, insert, select

from crmos.core.errors import Problem, ValidationError
from crmos.store import append_audit
from crmos.store.tables_playbooks import component_reviews as reviews

Status = Literal["pending review", "approved", "rejected"]
DECISIONS = ("approved", "rejected")


@dataclass(frozen=True, slots=True)
class Review:
    """Where a component version stands, and the decision that put it there (if any)."""

    component: str
    version: str
    status: Status
    reason: str = ""
    reviewer: str = ""
    at_ms: int | None = None

    @property
    def approved(self) -> bool:
        """Whether playbooks may use it."""
        return self.status == "approved"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "component": self.component,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "reviewer": self.reviewer,
            "at_ms": self.at_ms,
        }


BUILTIN_REASON = "shipped with crmos"


def current(
    conn: Connection, workspace_id: str, installed: Iterable[tuple[str, str, bool]]
) -> dict[str, Review]:
    """The review of each installed ``(component, version, builtin)`` in the workspace."""
    wanted = list(installed)
    c = reviews.c
    names = [name for name, _, builtin in wanted if not builtin]
    stmt = (
        select(reviews)
        .where(c.workspace_id == workspace_id, c.component.in_(names))
        .order_by(c.at_ms, c.id)
    )
    latest: dict[tuple[str, str], Any] = {}
    for found in conn.execute(stmt) if names else ():
        latest[(found.component, found.version)] = found  # later rows replace earlier ones
    out: dict[str, Review] = {}
    for name, version, builtin in wanted:
        row = latest.get((name, version))
        if builtin:
            out[name] = Review(name, version, "approved", BUILTIN_REASON, "crmos")
        elif row is None:
            out[name] = Review(name, version, "pending review")
        else:
            out[name] = Review(name, version, row.status, row.reason, row.reviewer, row.at_ms)
    return out


def decide(
    conn: Connection,
    workspace_id: str,
    component: str,
    version: str,
    decision: str,
    reason: str,
    reviewer: str,
    at_ms: int,
) -> Review:
    """Record an approval or a rejection (caller's transaction) and its audit entry."""
    problems = []
    if decision not in DECISIONS:
        problems.append(Problem("decision", f"'{decision}' is not one of: approved, rejected"))
    if not reason.strip():
        problems.append(
            Problem(
                "reason",
                "a review needs a reason; say why it is approved or rejected",
                reason="required",
            )
        )
    if problems:
        raise ValidationError(f"review of component '{component}' refused", problems)
    row = {
        "workspace_id": workspace_id,
        "component": component,
        "version": version,
        "status": decision,
        "reason": reason.strip(),
        "reviewer": reviewer,
        "at_ms": at_ms,
    }
    conn.execute(insert(reviews).values(**row))
    action = "component.approve" if decision == "approved" else "component.reject"
    details = {"version": version, "reason": reason.strip()}
    append_audit(conn, workspace_id, reviewer, action, component, details)
    return Review(component, version, decision, reason.strip(), reviewer, at_ms)  # type: ignore[arg-type]


def history(conn: Connection, workspace_id: str, component: str) -> list[Review]:
    """Every decision about ``component`` in the workspace, oldest first."""
    c = reviews.c
    stmt = (
        select(reviews)
        .where(c.workspace_id == workspace_id, c.component == component)
        .order_by(c.at_ms, c.id)
    )
    return [
        Review(r.component, r.version, r.status, r.reason, r.reviewer, r.at_ms)
        for r in conn.execute(stmt)
    ]
