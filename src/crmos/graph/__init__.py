"""Graph: nodes, typed edges with evidence, inference rules, role/intent scores, queries, health.

Filled in by the customer-graph issue.
"""

__all__: list[str] = []
