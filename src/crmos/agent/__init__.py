"""Agent: document intake, intent/entity/sentiment, knowledge retrieval, recommendations.

Filled in by the agent-layer issue.
"""

__all__: list[str] = []
