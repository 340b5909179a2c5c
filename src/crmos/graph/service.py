"""The graph as the API and CLI use it: rules loaded once, queries and changes per workspace."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from crmos.core.settings import GraphSettings
from crmos.graph.consumer import GraphConsumer
from crmos.graph.expiry import ExpirySweeper
from crmos.graph.rulebook import Rule, load_rules


@dataclass(frozen=True, slots=True)
class GraphRuntime:
    """Settings and the loaded rules (shared by the consumer and the API)."""

    settings: GraphSettings
    rules: list[Rule]

    def consumer(self) -> GraphConsumer:
        """The stream consumer running these rules."""
        return GraphConsumer(self.settings, self.rules)

    def sweeper(self, engine: Engine) -> ExpirySweeper:
        """The background sweep of ended edges (started by a serving process)."""
        s = self.settings
        return ExpirySweeper(engine, s.expiry_sweep_s, s.expired_edge_retention_days)


def build_graph(settings: GraphSettings) -> GraphRuntime:
    """Load the shipped and configured rules; ``ValidationError`` lists every problem."""
    return GraphRuntime(settings, load_rules(settings.rules_dir, settings.disabled_rules))
