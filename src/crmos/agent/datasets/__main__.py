"""Regenerate the shipped intent data sets: ``python -m crmos.agent.datasets``."""

from __future__ import annotations

from crmos.agent.datasets.generate import write_all

if __name__ == "__main__":
    for path, count in write_all():
        print(f"{path}: {count} examples")  # noqa: T201 - a developer script
