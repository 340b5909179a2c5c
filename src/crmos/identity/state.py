"""The stitcher's memory of one workspace: which profile each identifier joined, which profile
each profile resolves to, and per live profile its identifier counts, traits and account.

An identifier's first profile never changes, so that mapping can be cached for good; the
resolution of profiles changes only by merges and splits, which the stitcher makes itself or
learns about through the workspace epoch (see ``repo.lock_workspace``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select

from crmos.identity import repo
from crmos.identity.claims import Claim, Key, Normaliser, NormCache, evict_oldest
from crmos.identity.policy import IdentityPolicy
from crmos.identity.traits import TraitView
from crmos.store.tables_identity import profile_identifiers, profiles


@dataclass(slots=True)
class Live:
    """What stitching needs to know about a live profile."""

    counts: dict[str, int]
    traits: TraitView
    account: str | None = None


def account_of(policy: IdentityPolicy, traits: TraitView) -> str | None:
    """The account named by a trait view (the first path element is the trait name)."""
    path = policy.account_path
    if not path or path[0] not in traits:
        return None
    return policy.account_of({path[0]: traits[path[0]][0]})


class WorkspaceState:
    """Cached identity state of one workspace, valid for one ``epoch``."""

    def __init__(
        self,
        workspace_id: str,
        policy: IdentityPolicy,
        epoch: int,
        cache: NormCache,
        cache_size: int = 500_000,
    ) -> None:
        self.workspace_id = workspace_id
        self.policy = policy
        self.norm = Normaliser(policy, cache, cache_size)
        self.epoch = epoch
        self.origin: dict[Key, str] = {}
        self.parent: dict[str, str] = {}
        self.live: dict[str, Live] = {}
        self.seen_conflicts: set[tuple[str, Key, str | None, str | None]] = set()

    def find(self, profile_id: str) -> str:
        """The live profile ``profile_id`` resolves to."""
        parent = self.parent
        root = profile_id
        while root in parent:
            root = parent[root]
        while profile_id != root:  # compress the path for the next look-up
            parent[profile_id], profile_id = root, parent[profile_id]
        return root

    def trim(self, limit: int) -> None:
        """Keep at most ``limit`` cached identifiers: forget the older half when over it.

        Only facts that the store holds too are forgotten (which profile an identifier first
        joined; a live profile's counts and traits): a later batch loads them again. Merge
        links (``parent``) stay, since a forgotten one would make a merged profile look live.
        """
        if len(self.origin) > limit:
            evict_oldest(self.origin)
            evict_oldest(self.live)
            self.seen_conflicts.clear()

    def prefetch(self, conn: Connection, claims: Iterable[Claim]) -> None:
        """Load what planning ``claims`` needs and the cache lacks, in a few queries."""
        claims = list(claims)
        origin = self.origin
        missing = {key for c in claims for key in c.keys if key not in origin}
        if missing:
            self._load_identifiers(conn, missing)
        live, parent = self.live, self.parent
        need: set[str] = set()
        for claim in claims:
            for key in claim.keys:
                pid = origin.get(key)
                if pid is None or pid in live:
                    continue
                root = self.find(pid) if pid in parent else pid
                if root not in live:
                    need.add(root)
        if need:
            self._load_live(conn, sorted(need))

    def _load_identifiers(self, conn: Connection, keys: set[Key]) -> None:
        by_type: dict[str, list[str]] = {}
        for kind, value in keys:
            by_type.setdefault(kind, []).append(value)
        for kind, values in by_type.items():
            for part in repo.chunks(sorted(values)):
                params = {"ws": self.workspace_id, "kind": kind, "values": list(part)}
                for row in conn.execute(_IDENTIFIERS, params):
                    self.origin[(row.type, row.value)] = row.profile_id
                    if row.root_id != row.profile_id:
                        self.parent[row.profile_id] = row.root_id

    def _load_live(self, conn: Connection, roots: list[str]) -> None:
        counts: dict[str, dict[str, int]] = {r: {} for r in roots}
        for part in repo.chunks(roots):
            for root, kind, n in conn.execute(_COUNTS, {"roots": list(part)}):
                counts[root][kind] = int(n)
            for pid, traits in conn.execute(_TRAITS, {"roots": list(part)}):
                view: TraitView = orjson.loads(traits)
                self.live[pid] = Live(counts[pid], view, account_of(self.policy, view))


_i, _p = profile_identifiers.c, profiles.c
_JOINED = profile_identifiers.join(profiles, _p.id == _i.profile_id)
_IDENTIFIERS = (
    select(_i.type, _i.value, _i.profile_id, _p.root_id)
    .select_from(_JOINED)
    .where(_i.workspace_id == bindparam("ws"), _i.type == bindparam("kind"))
    .where(_i.value.in_(bindparam("values", expanding=True)))
)
_COUNTS = (
    select(_p.root_id, _i.type, func.count())
    .select_from(_JOINED)
    .where(_p.root_id.in_(bindparam("roots", expanding=True)))
    .group_by(_p.root_id, _i.type)
)
_TRAITS = select(_p.id, _p.traits).where(_p.id.in_(bindparam("roots", expanding=True)))


def statement_json(traits: dict[str, Any] | None) -> str | None:
    """A trait statement as stored in ``profile_events.traits``."""
    return None if traits is None else orjson.dumps(traits, default=str).decode()
