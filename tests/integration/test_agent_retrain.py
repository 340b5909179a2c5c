"""``crmos interactions retrain``: decided recommendations become labelled examples, and the
workspace model takes them only through the evaluation gate, recorded as a Decision."""

from __future__ import annotations

from crmos.agent import Submission
from crmos.agent import repo as agent_repo
from crmos.agent.retrain import correction, inbox_labels, retrain
from crmos.bootstrap import Container
from crmos.store import get_decision
from tests.integration.test_interactions_api import eml

EXPAND = "We plan to expand to 300 more seats next quarter, a budget of USD 250,000."
ERASE = "Under Article 17 GDPR, erase every record you hold about me. Customer no. 7781."
CHURN = "Our board cut the budget; the USD 90,000 contract will not be extended next year."


def _pending(container: Container, workspace_id: str, text: str, sender: str) -> str:
    item = container.agent.add(
        Submission(workspace_id, "m.eml", eml(sender, text), "message/rfc822")
    )
    (rec,) = item["recommendations"]
    assert rec["status"] == "pending", rec
    return str(rec["id"])


def _decide(container: Container, ws: str, rec_id: str, approve: bool, note: str | None) -> None:
    with container.engine.begin() as conn:
        container.agent.recommender.decide(conn, ws, rec_id, approve, "Lena", note, "en")


def test_a_rejection_note_that_names_an_intent_is_a_correction() -> None:
    assert correction("intent: complaint") == "complaint"
    assert correction("wrong.\n意图：data_access_request") == "data_access_request"
    assert correction("churn_risk") == "churn_risk"
    assert correction("not now, the customer already called") is None
    assert correction("intent: shopping") is None
    assert correction(None) is None


def test_approvals_and_corrections_become_examples_and_pass_the_gate_only_if_no_worse(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("retrain")
    expand = _pending(container, ws.id, EXPAND, "cfo@example.com")
    erase = _pending(container, ws.id, ERASE, "ann@example.com")
    churn = _pending(container, ws.id, CHURN, "bob@example.com")
    _decide(container, ws.id, expand, True, "good margin")
    _decide(container, ws.id, erase, False, "intent: data_access_request")
    _decide(container, ws.id, churn, False, "the customer already called")

    with container.engine.connect() as conn:
        labels = inbox_labels(conn, ws.id)
    assert (labels.approvals, labels.corrections, len(labels.rejected)) == (1, 1, 1)
    by_label = {e.intent: e.text for e in labels.examples}
    assert ERASE in by_label["data_access_request"]
    assert EXPAND in next(iter(set(by_label.values()) - {by_label["data_access_request"]}))

    models = container.agent.models
    with container.engine.begin() as conn:  # a gate no model can pass: nothing changes
        refused = retrain(conn, models, ws.id, "Lena", tolerance=-1.0)
        assert not refused.accepted and refused.new_examples == 2
        assert agent_repo.workspace_examples(conn, ws.id) == []
    with container.engine.begin() as conn:
        kept = retrain(conn, models, ws.id, "Lena", tolerance=1.0)
        assert kept.accepted
        stored = agent_repo.workspace_examples(conn, ws.id)
    assert sorted(e.intent for e in stored) == sorted(e.intent for e in labels.examples)
    assert set(kept.current) == {"zh", "en"} and 0 < kept.candidate["en"] <= 1

    with container.engine.begin() as conn:
        again = retrain(conn, models, ws.id, "Lena")
    assert not again.accepted and again.new_examples == 0

    with container.engine.connect() as conn:
        refused_record = get_decision(conn, ws.id, refused.decision_id)
        accepted = get_decision(conn, ws.id, kept.decision_id)
    assert refused_record is not None and refused_record.inputs["accepted"] is False
    assert accepted is not None
    assert accepted.kind == "agent.intent_model.retrain" and accepted.approver == "Lena"
    assert accepted.inputs["candidate_macro_f1"] == kept.candidate
    assert "accepted" in accepted.reason and "macro-F1" in accepted.reason
