"""Count, across simulators, what a reliability benchmark must see as zero.

- **duplicate side effects**: the same request applied more than once (a retry that was not
  recognised by its idempotency key);
- **uncompensated side effects**: side effects still in force that belong to a business action
  (a ``reference``, by default the run id) which ended rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class SideEffectAudit:
    """Totals over every simulator asked."""

    side_effects: int
    compensations: int
    duplicate_side_effects: int
    uncompensated_side_effects: int
    open_by_reference: dict[str, int]


def audit_side_effects(
    stats: Iterable[Mapping[str, Any]], rolled_back: Iterable[str]
) -> SideEffectAudit:
    """Sum ``GET /_sim/stats`` answers; ``rolled_back`` names the references that must be clean."""
    side_effects = compensations = duplicates = 0
    open_by_reference: dict[str, int] = {}
    for one in stats:
        side_effects += int(one["side_effects"])
        compensations += int(one["compensations"])
        duplicates += int(one["duplicate_side_effects"])
        for reference, counts in one["references"].items():
            open_by_reference[reference] = open_by_reference.get(reference, 0) + int(counts["open"])
    left = sum(open_by_reference.get(reference, 0) for reference in set(rolled_back))
    return SideEffectAudit(side_effects, compensations, duplicates, left, open_by_reference)


def audit_simulators(urls: Iterable[str], rolled_back: Iterable[str]) -> SideEffectAudit:
    """:func:`audit_side_effects` over the simulators at ``urls``."""
    with httpx.Client(timeout=30) as client:
        stats = [
            client.get(f"{url.rstrip('/')}/_sim/stats").raise_for_status().json() for url in urls
        ]
    return audit_side_effects(stats, rolled_back)
