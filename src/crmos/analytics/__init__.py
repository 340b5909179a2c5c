"""Analytics: CLV, propensity models and their explanations.

Filled in by a later issue.
"""

__all__: list[str] = []
