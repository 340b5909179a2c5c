"""The stitcher's memory of one workspace: which profile each identifier joined, which profile
each profile resolves to, and per live profile its identifier counts, traits and account.

An identifier's first profile never changes, so that mapping can be cached for good; the
resolution of profiles changes only by merges and splits, which the stitcher makes itself or
learns about through the workspace epoch (see ``repo.lock_workspace``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from crmos.identity import repo
from crmos.identity.claims import Claim, Key, Normaliser
from crmos.identity.policy import IdentityPolicy
from crmos.identity.traits import TraitView
from crmos.store.tables_identity import profile_identifiers, profiles


@dataclass(slots=True)
class Live:
    """What stitching needs to know about a live profile."""

    counts: dict[str, int]
    traits: TraitView
    account: str | None = None
    known: bool = field(default=True)  # False: created in the batch being planned


def account_of(policy: IdentityPolicy, traits: TraitView) -> str | None:
    """The account named by a trait view (the first path element is the trait name)."""
    path = policy.account_path
    if not path or path[0] not in traits:
        return None
    return policy.account_of({path[0]: traits[path[0]][0]})


class WorkspaceState:
    """Cached identity state of one workspace, valid for one ``epoch``."""

    def __init__(self, workspace_id: str, policy: IdentityPolicy, epoch: int) -> None:
        self.workspace_id = workspace_id
        self.policy = policy
        self.norm = Normaliser(policy)
        self.epoch = epoch
        self.origin: dict[Key, str] = {}
        self.parent: dict[str, str] = {}
        self.live: dict[str, Live] = {}

    def find(self, profile_id: str) -> str:
        """The live profile ``profile_id`` resolves to."""
        parent = self.parent
        root = profile_id
        while root in parent:
            root = parent[root]
        while profile_id != root:  # compress the path for the next look-up
            parent[profile_id], profile_id = root, parent[profile_id]
        return root

    def size(self) -> int:
        """Cached identifiers."""
        return len(self.origin)

    def prefetch(self, conn: Connection, claims: Iterable[Claim]) -> None:
        """Load what planning ``claims`` needs and the cache lacks, in a few queries."""
        claims = list(claims)
        missing = {key for c in claims for key in c.keys if key not in self.origin}
        if missing:
            self._load_identifiers(conn, missing)
        roots = {self.find(self.origin[k]) for c in claims for k in c.keys if k in self.origin}
        need = sorted(r for r in roots if r not in self.live)
        if need:
            self._load_live(conn, need)

    def _load_identifiers(self, conn: Connection, keys: set[Key]) -> None:
        i, p = profile_identifiers.c, profiles.c
        by_type: dict[str, list[str]] = {}
        for kind, value in keys:
            by_type.setdefault(kind, []).append(value)
        base = select(i.type, i.value, i.profile_id, p.root_id).select_from(
            profile_identifiers.join(profiles, p.id == i.profile_id)
        )
        for kind, values in by_type.items():
            for part in repo.chunks(sorted(values)):
                stmt = base.where(
                    i.workspace_id == self.workspace_id, i.type == kind, i.value.in_(part)
                )
                for row in conn.execute(stmt):
                    self.origin[(row.type, row.value)] = row.profile_id
                    if row.root_id != row.profile_id:
                        self.parent[row.profile_id] = row.root_id

    def _load_live(self, conn: Connection, roots: list[str]) -> None:
        i, p = profile_identifiers.c, profiles.c
        counts: dict[str, dict[str, int]] = {r: {} for r in roots}
        for part in repo.chunks(roots):
            stmt = (
                select(p.root_id, i.type, func.count())
                .select_from(profile_identifiers.join(profiles, p.id == i.profile_id))
                .where(p.root_id.in_(part))
                .group_by(p.root_id, i.type)
            )
            for root, kind, n in conn.execute(stmt):
                counts[root][kind] = int(n)
            for pid, traits in conn.execute(select(p.id, p.traits).where(p.id.in_(part))):
                view: TraitView = orjson.loads(traits)
                self.live[pid] = Live(counts[pid], view, account_of(self.policy, view))


def statement_json(traits: dict[str, Any] | None) -> str | None:
    """A trait statement as stored in ``profile_events.traits``."""
    return None if traits is None else orjson.dumps(traits, default=str).decode()
