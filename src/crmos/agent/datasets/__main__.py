"""Regenerate the shipped data sets: ``python -m crmos.agent.datasets``."""

from __future__ import annotations

from crmos.agent.datasets import contracts, screenshots
from crmos.agent.datasets.generate import write_all

if __name__ == "__main__":
    for path, count in [*write_all(), contracts.write(), screenshots.write()]:
        print(f"{path}: {count}")  # noqa: T201 - a developer script
