"""Triggers: the condition language (CEL), window patterns, keyed state and durable timers.

Filled in by the playbooks issue.
"""

__all__: list[str] = []
