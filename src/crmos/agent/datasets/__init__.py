"""Generators for the agent's shipped data sets (intents); run ``python -m crmos.agent.datasets``.

Internal to the agent room: the generated files under ``crmos/agent/data`` are what ships.
"""

__all__: list[str] = []
