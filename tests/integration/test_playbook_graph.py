"""Conditions over graph facts (role scores, edges, accounts), on SQLite and PostgreSQL."""

from __future__ import annotations

from crmos.bootstrap import Container
from crmos.store import decisions_of
from tests.integration.playbook_support import identify, ingest, track

TECHNICAL = """
id: technical-follow-up
description: A technical decision maker of a known account asks for the integration guide
trigger:
  pattern:
    event:
      event: Integration Guide Requested
  condition: >-
    has(graph.scores.technical_decision_maker)
    && graph.scores.technical_decision_maker >= 0.3
    && "hooli" in graph.accounts
steps:
  - {id: mail, component: notify.email, with: {subject: Integration guide, text: Here it is.}}
"""


def reinforce(user: str) -> list[dict[str, object]]:
    """Events that raise the technical decision maker role by one step (0.37)."""
    return [
        track(user, "Docs Dwell", 2, path="/docs/api/auth", seconds=150),
        track(user, "Section Expanded", 2, section="integration"),
        track(user, "Docs Dwell", 1.9, path="/docs/api/hooks", seconds=90),
        track(user, "Section Expanded", 1.9, section="integration"),
    ]


def test_a_condition_reads_the_role_score_and_accounts_of_the_profile_from_the_graph(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("graphs")
    container.playbooks.publish(ws.id, TECHNICAL, "ops@acme", "first")
    ingest(
        container, ws.id,
        identify("gil", company={"id": "hooli", "name": "Hooli"}), *reinforce("gil"),
        identify("una", company={"id": "hooli", "name": "Hooli"}),  # no role score
        identify("sam", company={"id": "initech", "name": "Initech"}), *reinforce("sam"),
    )  # fmt: skip
    ingest(
        container, ws.id,
        *(track(u, "Integration Guide Requested", 1) for u in ("gil", "una", "sam")),
    )  # fmt: skip
    [firing] = container.playbooks.firings(ws.id)
    assert firing["status"] == "started"
    with container.engine.connect() as conn:
        decisions = decisions_of(conn, ws.id, firing["profile_id"])
    [decision] = [d for d in decisions if d.kind == "playbook.trigger"]
    assert decision.event_ids == ("tr-gil-Integration Guide Requested-1",)
    assert any(d.kind != "playbook.trigger" for d in decisions)  # the role's own decision
    dry = container.playbooks.dry_run(ws.id, TECHNICAL, since_ms=0)
    assert (dry.fired, list(dry.profiles)) == (1, [firing["profile_id"]])
