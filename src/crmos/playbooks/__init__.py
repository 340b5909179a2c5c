"""Playbooks: YAML specs, validation, versions, dry-run, experiments, the component registry.

Filled in by the playbooks issue.
"""

__all__: list[str] = []
