"""Agent: interaction intake (e-mail, transcripts, screenshots, PDFs), intent/entity/sentiment
and clause extraction, knowledge retrieval, recommendations with approval, decision records.
"""

from crmos.agent.consumer import AgentConsumer
from crmos.agent.erasure import DATA_MAP, AgentEraser
from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import INTENTS, IntentScore
from crmos.agent.knowledge import KnowledgeBase, Passage
from crmos.agent.repo import interaction, list_interactions, list_recommendations
from crmos.agent.service import AgentService, EventSink, Submission
from crmos.agent.understand import Understanding

__all__ = [
    "DATA_MAP",
    "INTENTS",
    "AgentConsumer",
    "AgentEraser",
    "AgentService",
    "EventSink",
    "IntentModels",
    "IntentScore",
    "KnowledgeBase",
    "Passage",
    "Submission",
    "Understanding",
    "interaction",
    "list_interactions",
    "list_recommendations",
]
