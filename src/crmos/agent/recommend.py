"""Next best actions: from an understood interaction to recommendations with an impact level,
each citing the interaction, its event and knowledge passages, each recorded as a Decision.

High-impact recommendations wait for a person to approve or reject them; the approver is
recorded on the recommendation, in a second Decision and in the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from crmos.agent import repo
from crmos.agent.knowledge import KnowledgeBase, Passage
from crmos.core.clock import now_ms
from crmos.core.errors import Conflict
from crmos.core.ids import new_id
from crmos.core.settings import AgentSettings
from crmos.store import Decision, append_audit, record_decision

RULE = "crmos.agent.nba"
RULES_VERSION = "nba-1"

TITLES = {
    "send_renewal_offer": ("Send a renewal offer", "发送续约方案"),
    "retention_call": ("Call the customer about the churn risk", "致电客户，处理流失风险"),
    "service_recovery": ("Call back and resolve the complaint", "回电并解决投诉"),
    "start_erasure": (
        "Confirm the deletion request and complete the erasure",
        "确认删除请求并完成数据删除",
    ),
    "start_access_export": (
        "Send the customer an export of their data",
        "向客户提供其个人数据副本",
    ),
    "send_pricing": ("Send pricing information", "发送价格信息"),
    "share_integration_docs": ("Share the integration documentation", "提供集成文档"),
    "propose_upgrade": ("Propose an upgrade or expansion", "提出升级或扩容方案"),
    "schedule_meeting": ("Schedule the requested meeting", "安排客户要求的会议"),
    "check_billing": ("Check the invoice and the payment", "核查发票与付款"),
    "review": ("Review this interaction", "人工查看该互动"),
}
BASE_IMPACT = {
    "send_renewal_offer": "medium", "retention_call": "high", "service_recovery": "medium",
    "start_erasure": "high", "start_access_export": "medium", "send_pricing": "low",
    "share_integration_docs": "low", "propose_upgrade": "medium", "schedule_meeting": "low",
    "check_billing": "medium", "review": "low",
}  # fmt: skip
MONEY_SENSITIVE = {"send_renewal_offer", "propose_upgrade", "check_billing", "send_pricing"}
KIND_WORDS = {
    "email": ("e-mail", "邮件"), "transcript": ("meeting transcript", "会议记录"),
    "screenshot": ("chat screenshot", "聊天截图"), "pdf": ("document", "文档"),
    "text": ("message", "消息"),
}  # fmt: skip
SENTIMENT_ZH = {"positive": "积极", "neutral": "中性", "negative": "消极"}
IMPACT_ZH = {"low": "低", "medium": "中", "high": "高"}


@dataclass(frozen=True, slots=True)
class Plan:
    """The recommended action for an interaction, and why its impact is what it is."""

    action: str
    impact: str
    why: tuple[str, str]


def plan(understanding: dict[str, Any], action: str, settings: AgentSettings) -> Plan | None:
    """The action plan for a stored understanding (None when nothing should be done)."""
    if action == "none":
        return None
    impact = BASE_IMPACT.get(action, "low")
    why = ("the intent calls for it", "该意图需要跟进")
    amount = max_amount(understanding)
    sentiment = understanding.get("sentiment", {}).get("score", 0.0)
    if action in MONEY_SENSITIVE and amount >= settings.high_value:
        impact = "high"
        why = (f"it involves {amount:,.0f} (at or above {settings.high_value:,.0f})",
               f"涉及金额{amount:,.0f}（不低于{settings.high_value:,.0f}）")  # fmt: skip
    elif action == "service_recovery" and sentiment <= -0.5:
        impact = "high"
        why = ("the customer is strongly negative", "客户情绪非常负面")
    elif impact == "high":
        why = ("acting on it affects the customer relationship or their rights",
               "该行动影响客户关系或客户权利")  # fmt: skip
    return Plan(action, impact, why)


def max_amount(understanding: dict[str, Any]) -> float:
    """The largest amount of money mentioned (any currency), 0 when none."""
    amounts = [
        float(e["value"].split()[0])
        for e in understanding.get("entities", [])
        if e.get("kind") == "money"
    ]
    return max(amounts, default=0.0)


class Recommender:
    """Makes, records, approves and rejects recommendations."""

    def __init__(self, settings: AgentSettings, knowledge: KnowledgeBase) -> None:
        self._settings = settings
        self._knowledge = knowledge

    def recommend(
        self, conn: Connection, item: dict[str, Any], language: str
    ) -> dict[str, Any] | None:
        """Record the recommendation for a stored interaction (None when there is none)."""
        understanding = item["understanding"]
        found = plan(understanding, item["tags"]["action"], self._settings)
        if found is None or item["status"] == "unreadable":
            return None
        query = f"{TITLES.get(found.action, TITLES['review'])[0]} {item['text'][:400]}"
        passages = self._knowledge.search(item["workspace_id"], query, limit=2, conn=conn)
        zh = language == "zh"
        title = TITLES.get(found.action, TITLES["review"])[1 if zh else 0]
        reason = self._reason(item, found, title, passages, zh)
        citations = {
            "interactions": [item["id"]],
            "events": [item["message_id"]] if item["message_id"] else [],
            "passages": [p.as_dict() for p in passages],
        }
        status = "pending" if found.impact == "high" else "proposed"
        decision_id = record_decision(conn, self._decision(item, found, reason, citations, status))
        row = {
            "id": new_id("rec_"), "workspace_id": item["workspace_id"],
            "profile_id": item["profile_id"], "interaction_id": item["id"],
            "action": found.action, "impact": found.impact, "status": status, "title": title,
            "reason": reason, "citations": citations, "decision_id": decision_id,
            "created_ms": now_ms(),
        }  # fmt: skip
        repo.insert_recommendation(conn, row)
        outcome = "awaiting_approval" if status == "pending" else "recommended"
        tags = {**item["tags"], "outcome": outcome}
        repo.set_tags(conn, item["workspace_id"], item["id"], tags)
        return repo.recommendation(conn, item["workspace_id"], row["id"])

    def _decision(
        self, item: dict[str, Any], found: Plan, reason: str, citations: dict[str, Any], status: str
    ) -> Decision:
        intent = item["understanding"]["intent"]
        return Decision(
            workspace_id=item["workspace_id"],
            kind="agent.recommendation",
            rule=RULE,
            version=f"{RULES_VERSION}+{intent['model']}@{intent['version']}",
            reason=reason,
            subject_profile_id=item["profile_id"],
            score=intent["score"],
            inputs={
                "interaction_id": item["id"],
                "kind": item["kind"],
                "intent": intent["name"],
                "sentiment": item["understanding"]["sentiment"],
                "amount": max_amount(item["understanding"]),
                "passages": [p["source"] for p in citations["passages"]],
            },
            event_ids=citations["events"],
            actions=[{"action": found.action, "impact": found.impact, "status": status}],
        )

    def _reason(
        self, item: dict[str, Any], found: Plan, title: str, passages: list[Passage], zh: bool
    ) -> str:
        u = item["understanding"]
        intent, score = u["intent"]["name"], u["intent"]["score"]
        kind = KIND_WORDS.get(item["kind"], ("message", "消息"))[1 if zh else 0]
        cites = "; ".join(p.citation for p in passages)
        mood = u["sentiment"]["label"]
        if zh:
            text = (
                f"在{kind}「{item['source_name']}」中识别到意图 {intent}（置信度 {score:.0%}，"
                f"情绪{SENTIMENT_ZH.get(mood, mood)}）。建议：{title}。影响级别"
                f"{IMPACT_ZH[found.impact]}，因为{found.why[1]}。依据：互动 {item['id']}"
            )
            return text + (f"；知识库 {cites}。" if cites else "。")
        text = (
            f"The {kind} '{item['source_name']}' shows {intent} (confidence {score:.0%}, "
            f"sentiment {mood}). Recommended: {title}. Impact {found.impact} because "
            f"{found.why[0]}. Based on interaction {item['id']}"
        )
        return text + (f" and knowledge {cites}." if cites else ".")

    def decide(
        self, conn: Connection, workspace_id: str, rec_id: str, approve: bool, approver: str,
        note: str | None, language: str,
    ) -> dict[str, Any]:  # fmt: skip
        """Approve or reject a pending recommendation; records who, a Decision and an audit."""
        rec = repo.recommendation(conn, workspace_id, rec_id)
        if rec["status"] != "pending":
            raise Conflict(
                "decision on recommendation", rec_id,
                f"it is '{rec['status']}'; only pending (high-impact) ones wait for approval",
            )  # fmt: skip
        verdict = "approved" if approve else "rejected"
        reason = _verdict_reason(rec, verdict, approver, note, language == "zh")
        decision = Decision(
            workspace_id=workspace_id, kind=f"agent.recommendation.{verdict}", rule=RULE,
            version=RULES_VERSION, reason=reason, subject_profile_id=rec["profile_id"],
            inputs={"recommendation_id": rec_id, "decision_id": rec["decision_id"], "note": note},
            event_ids=rec["citations"].get("events", []),
            actions=[{"action": rec["action"], "status": verdict}], approver=approver,
        )  # fmt: skip
        decision_id = record_decision(conn, decision)
        values = {
            "status": verdict,
            "approver": approver,
            "decided_ms": now_ms(),
            "note": note,
        }
        repo.decide(conn, workspace_id, rec_id, values)
        repo.set_outcome(conn, workspace_id, rec["interaction_id"], verdict)
        details = {"recommendation_id": rec_id, "decision_id": decision_id, "action": rec["action"]}
        append_audit(conn, workspace_id, approver, f"recommendation.{verdict}",
                     rec["profile_id"] or rec_id, details)  # fmt: skip
        return {
            **repo.recommendation(conn, workspace_id, rec_id),
            "verdict_decision_id": decision_id,
        }


def _verdict_reason(
    rec: dict[str, Any], verdict: str, approver: str, note: str | None, zh: bool
) -> str:
    if zh:
        word = "批准" if verdict == "approved" else "驳回"
        return f"{approver}{word}了建议「{rec['title']}」" + (f"：{note}" if note else "。")
    return f"{approver} {verdict} the recommendation '{rec['title']}'" + (
        f": {note}" if note else "."
    )
