"""Profile traits: per-source precedence first, then the latest write wins, per trait.

Pure. A trait view maps each trait name to ``[value, source, ts_ms]``, so a merge, a split or a
new statement can always tell whether the incoming value may replace the held one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmos.identity.policy import IdentityPolicy

TraitView = dict[str, list[Any]]
"""name -> [value, source, ts_ms]"""


def wins(policy: IdentityPolicy, new: list[Any], held: list[Any] | None) -> bool:
    """Whether ``new`` ([value, source, ts_ms]) replaces ``held``."""
    if held is None:
        return True
    new_rank, held_rank = policy.source_rank_of(new[1]), policy.source_rank_of(held[1])
    if new_rank != held_rank:
        return new_rank < held_rank
    return bool(new[2] >= held[2])


def apply_statement(
    policy: IdentityPolicy, view: TraitView, traits: dict[str, Any], source: str, ts_ms: int
) -> bool:
    """Apply one event's trait statement to ``view`` in place; True when anything changed.

    Restating the value a trait holds, from the source it came from, changes nothing: a trait's
    time is when its current value was set.
    """
    changed = False
    for name, value in traits.items():
        held = view.get(name)
        if held is not None and held[0] == value and held[1] == source:
            continue
        entry = [value, source, ts_ms]
        if wins(policy, entry, held):
            view[name] = entry
            changed = True
    return changed


def combine(policy: IdentityPolicy, survivor: TraitView, other: TraitView) -> TraitView:
    """The traits of two merged profiles: each trait from the side that wins it."""
    out = dict(survivor)
    for name, entry in other.items():
        if wins(policy, entry, out.get(name)) and not _older_tie(entry, out.get(name)):
            out[name] = entry
    return out


def _older_tie(entry: list[Any], held: list[Any] | None) -> bool:
    # On an exact tie (same rank, same time) the survivor keeps its value.
    return held is not None and held[1] == entry[1] and held[2] == entry[2]


def replay(
    policy: IdentityPolicy, statements: Iterable[tuple[dict[str, Any], str, int]]
) -> TraitView:
    """The view that a sequence of (traits, source, ts_ms) statements, in log order, leaves."""
    view: TraitView = {}
    for traits, source, ts_ms in statements:
        apply_statement(policy, view, traits, source, ts_ms)
    return view


def plain(view: TraitView) -> dict[str, Any]:
    """The trait values alone."""
    return {name: entry[0] for name, entry in view.items()}
