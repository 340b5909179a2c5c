"""Identity quality on the demo world, over a grid of seeds and world clocks.

Each world (``crmos.demo.generate``, its ``now`` pinned by :func:`crmos.demo.world_clock`
so a figure never depends on the hour the bench runs) goes through intake and the stitcher
on a fresh SQLite store, then through batch matching (``crmos identity match``: pairs above
the auto threshold merge, review-band pairs stay apart). Every stored identifier is scored
against the world's ground truth, pairwise: two identifiers of one person in one profile is
a true pair. Identifiers several people share (scenario 6's switchboard) are not scored.

- ``recall_all``: over every true pair.
- ``recall_identifiable``: over the **identifiable** pairs, the decision of issue 22: pairs
  whose records share at least one attribute beyond the full name. A record is what the
  events carrying an identifier say (their identifiers, birthday, postcode or street,
  e-mail, phone, account). Two identifiers of one person are identifiable when a chain of
  such shared attributes, or of events naming both, joins them (a matcher merges clusters,
  so a chain is evidence too); a pair joined only by a name is not.
- ``recall_bound``: the recall of linking every pair of identifiers that ever appear in one
  event (their closure, limits and account guards ignored), which no stitcher can exceed.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

import orjson
from sqlalchemy import Engine

from crmos.bootstrap import Container, build
from crmos.core.event import Event
from crmos.core.settings import IdentitySettings, Settings
from crmos.demo import World, generate, world_clock
from crmos.identity import Stitcher, identifier_owners
from crmos.identity.claims import Claim, Key, Normaliser, claim_of
from crmos.identity.identifiers import normalise
from crmos.identity.matching import EngineOptions, match_workspace
from crmos.identity.matching.names import NAME_LEVELS
from crmos.identity.policy import build_policy
from crmos.ingest import StreamRunner

SEEDS = (7, 11, 12, 13, 14)
"""The grid's seeds; with :data:`CLOCKS`, 5 x 4 worlds."""
CLOCKS = (0, 6, 12, 18)
"""The grid's world clocks: hours added to each seed's pinned ``now``."""
WORLD = {"companies": 12, "people": 120, "days": 90}
"""The grid world's size (``crmos demo``'s default world)."""
QUICK_WORLD = {"companies": 6, "people": 40, "days": 30}

# Ground-truth identifier kinds -> the identifier types crmos stores them as.
_TRUTH_TYPES = {
    "email": ("email",),
    "phone": ("phone",),
    "wechat_openid": ("wechat_openid", "anonymous_id"),
    "app_user_id": ("user_id",),
    "device_id": ("device_id", "anonymous_id"),
    "pos_member_id": ("pos_member_id", "user_id"),
    "web_anonymous_id": ("anonymous_id",),
}
_DIGITS = re.compile(r"\d+")
Owners = dict[Key, set[str]]


@contextmanager
def fresh_store(label: str) -> Iterator[Container]:
    """A migrated container on a new SQLite store in a temp directory."""
    with tempfile.TemporaryDirectory(prefix=f"crmos-bench-{label}-") as tmp:
        settings = Settings(home=Path(tmp), store={"url": f"sqlite:///{tmp}/crmos.db"})
        container = build(settings, migrate_store=True)
        try:
            yield container
        finally:
            container.close()


def quality(world: World, options: EngineOptions | None = None) -> dict[str, Any]:
    """Pairwise precision and recall on ``world``: stitching, then batch matching.

    The headline figures are after both; ``stitch_*`` are stitching alone. Batch matching
    runs as ``crmos identity match`` does, with the default thresholds: pairs it queues for
    review count as not merged.
    """
    with fresh_store("quality") as c:
        ws = c.workspaces.create("demo")[0].id
        lines = [orjson.dumps(e) for e in world.events]
        for _ in c.ingest().ingest_lines(ws, "import", lines):
            pass
        StreamRunner(c.engine, c.log, c.reader, [Stitcher(c.settings.identity)]).run_once()
        stitched = score(c.engine, world)
        matched = match_workspace(c.engine, ws, c.settings.identity, options=options)
        figures = score(c.engine, world)
    return figures | {
        "stitch_precision": stitched["precision"],
        "stitch_recall": stitched["recall_all"],
        "match_profiles": matched.profiles,
        "match_merged": matched.merged,
        "match_reviews": matched.reviews,
        "match_s": round(matched.seconds, 2),
    }


@dataclass(frozen=True, slots=True)
class Cell:
    """One world of the grid: its seed, clock (hour) and the ``now`` they pin."""

    seed: int
    clock: int
    size: tuple[tuple[str, int], ...]

    @property
    def now(self) -> datetime:
        """The world's pinned ``now``."""
        return world_clock(self.seed, self.clock)

    def world(self) -> World:
        """The world of this cell (the same every time)."""
        return generate(seed=self.seed, now=self.now, **dict(self.size))


def grid(quick: bool = False, say: Callable[[str], object] = print) -> dict[str, Any]:
    """Quality over :data:`SEEDS` x :data:`CLOCKS`: min and mean, and the worst cell."""
    size = tuple((QUICK_WORLD if quick else WORLD).items())
    cells = [Cell(seed, clock, size) for seed in SEEDS for clock in CLOCKS]
    results = []
    for cell in cells:
        say(f"world seed={cell.seed} clock={cell.now.isoformat()}")
        results.append((cell, quality(cell.world())))
    return summarise(results)


def names_gain(quick: bool = False, say: Callable[[str], object] = print) -> dict[str, Any]:
    """What each way of reading two first names as one name adds to ``recall_identifiable``.

    Each world of the seeds (at clock 0) is matched with every level of
    ``names.NAME_LEVELS``, then once without each level; ``names_gain_LEVEL`` is the mean
    drop in ``recall_identifiable`` without it (and ``names_precision_LEVEL`` the precision
    without it, the price it may have).
    """
    size = tuple((QUICK_WORLD if quick else WORLD).items())
    cells = [Cell(seed, 0, size) for seed in SEEDS]
    every = tuple(NAME_LEVELS)
    runs = {"all": every} | {lv: tuple(x for x in every if x != lv) for lv in every}
    recall: dict[str, list[float]] = {name: [] for name in runs}
    precision: dict[str, list[float]] = {name: [] for name in runs}
    for cell in cells:
        world = cell.world()
        for name, levels in runs.items():
            say(f"names: seed={cell.seed} without {name if name != 'all' else 'nothing'}")
            figures = quality(world, EngineOptions(name_levels=levels))
            recall[name].append(figures["recall_identifiable"])
            precision[name].append(figures["precision"])
    out: dict[str, Any] = {"names_recall_identifiable_mean": round(mean(recall["all"]), 4)}
    for level in every:
        out[f"names_gain_{level}"] = round(mean(recall["all"]) - mean(recall[level]), 4)
        out[f"names_precision_without_{level}"] = round(mean(precision[level]), 4)
    return out


_SUMMARISED = ("precision", "recall_identifiable", "recall_all", "recall_bound", "stitch_recall")


def summarise(results: list[tuple[Cell, dict[str, Any]]]) -> dict[str, Any]:
    """Min and mean of each quality figure over the grid; the worst cell, to rerun it."""
    out: dict[str, Any] = {}
    for key in _SUMMARISED:
        values = [r[key] for _, r in results]
        out[f"{key}_min"], out[f"{key}_mean"] = round(min(values), 4), round(mean(values), 4)
    unidentifiable = [r["unidentifiable_pairs"] for _, r in results]
    true_pairs = [r["true_pairs"] for _, r in results]
    out["unidentifiable_pairs"] = sum(unidentifiable)
    out["true_pairs"] = sum(true_pairs)
    out["unidentifiable_share"] = round(sum(unidentifiable) / max(1, sum(true_pairs)), 4)
    worst_cell, worst = min(results, key=lambda cr: (cr[1]["recall_identifiable"], cr[0].seed))
    out["worst_seed"], out["worst_clock"] = worst_cell.seed, worst_cell.now.isoformat()
    out["worst"] = {k: worst[k] for k in (*_SUMMARISED[:4], "unidentifiable_pairs")}
    out["grid"] = {
        "seeds": sorted({c.seed for c, _ in results}),
        "clocks": sorted({c.clock for c, _ in results}),
        "world": dict(results[0][0].size),
        "cells": [
            {"seed": c.seed, "clock": c.now.isoformat()} | {k: r[k] for k in _SUMMARISED}
            for c, r in results
        ],
    }
    return out


def score(engine: Engine, world: World) -> dict[str, Any]:
    """Score the profiles in ``engine`` (one workspace) against ``world``'s ground truth."""
    owners = _owners(world.ground_truth())
    with engine.connect() as conn:
        stored = [((kind, value), root) for kind, value, root in identifier_owners(conn)]
    mine = [(k, person, root) for k, root in stored if (person := _one(owners, k))]
    claims = _claims(world.events)
    bound = _closure(claims, owners, attributes=False)
    unshared = _closure(claims, owners, attributes=False, shared=False)
    known = identifiable_groups(world.events, world.ground_truth(), claims)
    precision, recall = _pairwise([(person, root) for _, person, root in mine])
    _, bound_recall = _pairwise([(person, bound.get(k, k)) for k, person, _ in mine])
    _, unshared_recall = _pairwise([(person, unshared.get(k, k)) for k, person, _ in mine])
    identifiable = [(person, known.get(k, k), root) for k, person, root in mine]
    both = _pairs(Counter(identifiable))
    true_identifiable = _pairs(Counter((p, group) for p, group, _ in identifiable))
    true_all = _pairs(Counter(person for _, person, _ in mine))
    return {
        "precision": round(precision, 4),
        "recall_all": round(recall, 4),
        "recall_identifiable": round(both / true_identifiable, 4) if true_identifiable else 1.0,
        "recall_bound": round(bound_recall, 4),
        "recall_bound_unshared": round(unshared_recall, 4),
        "true_pairs": true_all,
        "unidentifiable_pairs": true_all - true_identifiable,
        "identifiers_scored": len(mine),
        "ambiguous_identifiers": sum(1 for k, _ in stored if len(owners.get(k, ())) > 1),
        "demo_events": len(world.events),
    }


def identifiable_groups(
    events: list[dict[str, Any]], truth: list[dict[str, Any]], claims: list[Claim] | None = None
) -> dict[Key, Key]:
    """Each identifier's group: identifiers of one person whose records are joined by events
    naming them together or by a shared attribute beyond the full name (module docstring).
    Two identifiers of one person form an identifiable pair when they share a group."""
    owners = _owners(truth)
    return _closure(claims if claims is not None else _claims(events), owners, attributes=True)


def _one(owners: Owners, key: Key) -> str | None:
    who = owners.get(key, set())
    return next(iter(who)) if len(who) == 1 else None


def _owners(truth: list[dict[str, Any]]) -> Owners:
    owners: Owners = {}
    for row in truth:
        for kind in _TRUTH_TYPES[row["identifier_type"]]:
            key = (kind, normalise(kind, row["identifier_value"]))
            owners.setdefault(key, set()).add(row["person_id"])
    return owners


def _claims(events: list[dict[str, Any]]) -> list[Claim]:
    norm = Normaliser(build_policy(IdentitySettings()))
    now = datetime.now(UTC)
    return [
        claim_of(Event(
            "ws", str(n), message["type"], message.get("userId"), message.get("anonymousId"),
            None, now, now, message["context"]["touchpoint"], message, n + 1,
        ), norm)
        for n, message in enumerate(events)
    ]  # fmt: skip


def _closure(
    claims: list[Claim], owners: Owners, attributes: bool, shared: bool = True
) -> dict[Key, Key]:
    """Union-find over identifiers one event names together (and, with ``attributes``, over
    identifiers whose events state one attribute beyond the full name for one person).

    An identifier several people share (a switchboard) links only the events of one person
    to each other: the event's own identifiers tell whose it is. Without ``shared`` it links
    nothing, as the account guard has it (``recall_bound_unshared``).
    """
    parent: dict[Key, Key] = {}

    def find(key: Key) -> Key:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    def union(keys: Iterable[Key]) -> None:
        first, *rest = keys
        for key in rest:
            a, b = find(first), find(key)
            if a != b:
                parent[b] = a

    seen: dict[tuple[str, str, str], list[Key]] = {}
    for claim in claims:
        keys = _own_keys(claim.keys, owners, shared)
        if len(keys) > 1:
            union(keys)
        person = _person(keys, owners)
        if attributes and person is not None and keys:
            for attribute in _attributes(claim):
                seen.setdefault((person, *attribute), []).append(keys[0])
    for keys in seen.values():
        if len(keys) > 1:
            union(keys)
    return {key: find(key) for key in parent.keys() | owners.keys()}


def _person(keys: list[Key], owners: Owners) -> str | None:
    people = {p for k in keys if len(who := owners.get(k, set())) == 1 for p in who}
    return next(iter(people)) if len(people) == 1 else None


def _attributes(claim: Claim) -> set[tuple[str, str]]:
    """What the event states beyond the full name: birthday, address, e-mail, phone, account.

    A birthday is its numbers in any order (day and month swapped is the same birthday);
    an address is its postcode or its street.
    """
    traits = claim.traits or {}
    out: set[tuple[str, str]] = set()
    if isinstance(birthday := traits.get("birthday"), str) and birthday:
        out.add(("birthday", "-".join(sorted(_DIGITS.findall(birthday)))))
    address = traits.get("address")
    if isinstance(address, dict):
        for part in ("postalCode", "street"):
            if isinstance(value := address.get(part), str) and value.strip():
                out.add((part, value.strip().casefold()))
    for kind in ("email", "phone"):
        if isinstance(value := traits.get(kind), str) and value.strip():
            out.add((kind, value.strip().casefold()))
    if claim.account:
        out.add(("account", claim.account))
    return out


def _own_keys(keys: list[Key], owners: Owners, shared: bool = True) -> list[Key]:
    """``keys``, a shared identifier made personal to the event's one owner (or dropped)."""
    person = _person(keys, owners)
    out = []
    for kind, value in keys:
        if len(owners.get((kind, value), ())) <= 1:
            out.append((kind, value))
        elif person is not None and shared:
            out.append((kind, f"{value}\0{person}"))
    return out


def _pairs(counts: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def _pairwise(items: list[tuple[str, Any]]) -> tuple[float, float]:
    both = _pairs(Counter(items))
    predicted = _pairs(Counter(cluster for _, cluster in items))
    true = _pairs(Counter(person for person, _ in items))
    return (both / predicted if predicted else 1.0, both / true if true else 1.0)
