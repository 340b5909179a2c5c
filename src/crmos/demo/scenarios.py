"""The twelve scenarios of the design, each judged from stored state: ok or failed, and why.

Nothing here trusts the demo's own account of what it did: a check reads runs, firings,
profiles, audiences, edges, scores, reviews, data-subject requests, complaints, intake counters,
the simulators' ledgers and the sinks' mail and chat, and compares them with the cast.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from crmos.bootstrap import Container
from crmos.demo import checks_graph, checks_runs, checks_trust
from crmos.demo.cast import read_cast
from crmos.demo.judging import Outcome, Seen
from crmos.demo.sinks import read_chat, read_outbox

__all__ = ["EXPECTED_TO_FAIL", "Outcome", "evaluate", "unexpected_runs"]

EXPECTED_TO_FAIL = {("framework_agreement", "customer_id", "globex")}
"""Runs a scenario expects to end rolled back: (plan name, input key, value). Scenario 7's
agreement over its credit limit compensates; every other run of the demo must complete."""

Check = Callable[[Seen, Connection], Outcome]
CHECKS: list[tuple[int, Check]] = [
    (1, checks_runs.renewal_risk),
    (2, checks_graph.promotion),
    (3, checks_graph.stitching),
    (4, checks_graph.relation),
    (5, checks_graph.role),
    (6, checks_graph.conflict),
    (7, checks_runs.framework_agreement),
    (8, checks_runs.service_ticket),
    (9, checks_runs.insurance_renewal),
    (10, checks_trust.erasure),
    (11, checks_trust.brazil_invoice),
    (12, checks_trust.dsa_complaint),
]


def evaluate(c: Container, workspace_id: str, base: str) -> list[Outcome]:
    """Judge the twelve scenarios from the store, the simulators' files and the sinks."""
    folder = c.settings.home / "demo"
    runs = c.runs.find(workspace_id, limit=1000)
    name = next((w.name for w in c.workspaces.list() if w.id == workspace_id), workspace_id)
    seen = Seen(c, workspace_id, name, base, folder, read_cast(folder), runs)
    seen.outbox, seen.chat = read_outbox(folder), read_chat(folder)
    with c.engine.connect() as conn:
        return [_guarded(number, check, seen, conn) for number, check in CHECKS]


def unexpected_runs(c: Container, workspace_id: str) -> list[str]:
    """Runs that ended compensated, cancelled or needing attention although no scenario
    expects it, each as "run id (name): status: reason"."""
    found = []
    for run in c.runs.find(workspace_id, limit=1000):
        if run.status not in ("compensated", "needs_attention", "cancelled"):
            continue
        given = c.runs.get(workspace_id, run.id).plan.input
        if any(run.name == n and given.get(k) == v for n, k, v in EXPECTED_TO_FAIL):
            continue
        found.append(f"{run.id} ({run.name}): {run.status}: {run.reason}")
    return found


def _guarded(number: int, check: Check, seen: Seen, conn: Connection) -> Outcome:
    """A check that raises is a failed scenario with the error as its reason, never a crash."""
    try:
        return check(seen, conn)
    except Exception as exc:
        reason = f"the check could not read the state: {type(exc).__name__}: {exc}"
        return Outcome(number, check.__name__.replace("_", " "), "-", [], False, reason)
