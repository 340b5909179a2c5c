"""Sagas: durable runs of idempotent, compensable steps with retries and recovery (DBOS).

Filled in by the sagas issue.
"""

__all__: list[str] = []
