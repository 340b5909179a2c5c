"""The graph as the API and CLI use it: rules loaded once, queries and changes per workspace."""

from __future__ import annotations

from dataclasses import dataclass

from crmos.core.settings import GraphSettings
from crmos.graph.consumer import GraphConsumer
from crmos.graph.rulebook import Rule, load_rules


@dataclass(frozen=True, slots=True)
class GraphRuntime:
    """Settings and the loaded rules (shared by the consumer and the API)."""

    settings: GraphSettings
    rules: list[Rule]

    def consumer(self) -> GraphConsumer:
        """The stream consumer running these rules."""
        return GraphConsumer(self.settings, self.rules)


def build_graph(settings: GraphSettings) -> GraphRuntime:
    """Load the shipped and configured rules; ``ValidationError`` lists every problem."""
    return GraphRuntime(settings, load_rules(settings.rules_dir, settings.disabled_rules))
