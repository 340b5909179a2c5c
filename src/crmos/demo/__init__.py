"""Demo: a deterministic synthetic world (companies, people, 90 days of events) with ground truth.

Sits on top: may import any room.
"""

from crmos.demo.world import Company, Person, World, generate, world_clock

__all__ = ["Company", "Person", "World", "generate", "world_clock"]
