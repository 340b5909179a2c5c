"""The stitcher's memory of one workspace: which profile each identifier joined, which profile
each profile resolves to, and per live profile its identifier counts, traits and account.

An identifier's first profile never changes, so that mapping can be cached for good; the
resolution of profiles changes only by merges and splits, which the stitcher makes itself or
learns about through the workspace epoch (see ``repo.lock_workspace``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
        self.search_marked: dict[tuple[str, str], int] = {}
        """When this stitcher last marked (profile, touchpoint) for the search index, for
        events alone (epoch ms)."""
        self.complete = False
        """True while ``origin`` holds every identifier of the workspace: set when the state
        starts on a workspace without identifiers (a new workspace, a backfill) and cleared by
        ``trim``. Identity's other writers move the epoch, which replaces the state; should
        another stitcher write meanwhile, the identifiers' primary key refuses the batch."""

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
            self.complete = False
            evict_oldest(self.origin)
            evict_oldest(self.live)
            evict_oldest(self.search_marked)
            self.seen_conflicts.clear()

    def prefetch(self, conn: Connection, claims: Iterable[Claim]) -> None:
        """Load what planning ``claims`` needs and the cache lacks, in a few queries.

        One pass over the claims' identifiers finds those the cache lacks and the profiles
        whose state it lacks; the identifiers loaded then add their profiles to the latter.
        """
        origin, live = self.origin, self.live
        missing: set[Key] = set()
        need: set[str] = set()
        for claim in claims:
            for key in claim.keys:
                pid = origin.get(key)
                if pid is None:
                    missing.add(key)
                elif pid not in live:
                    self._need(pid, need)
        if missing and not self.complete:
            for pid in self._load_identifiers(conn, missing):
                if pid not in live:
                    self._need(pid, need)
        if need:
            self._load_live(conn, sorted(need))

    def start_complete(self, conn: Connection) -> None:
        """Mark the state complete if the workspace has no identifiers yet."""
        i = profile_identifiers.c
        stmt = select(i.value).where(i.workspace_id == self.workspace_id).limit(1)
        self.complete = conn.execute(stmt).first() is None

    def _need(self, profile_id: str, need: set[str]) -> None:
        root = self.find(profile_id) if profile_id in self.parent else profile_id
        if root not in self.live:
            need.add(root)

    def _load_identifiers(self, conn: Connection, keys: set[Key]) -> list[str]:
        """Cache where ``keys`` (those the store holds) joined; their profile ids."""
        by_type: dict[str, list[str]] = {}
        for kind, value in keys:
            by_type.setdefault(kind, []).append(value)
        found: list[str] = []
        origin, parent = self.origin, self.parent
        for kind, values in by_type.items():
            for part in repo.chunks(sorted(values)):
                sql, padded = _identifiers_sql(conn, part)
                params = (self.workspace_id, kind, *padded)
                for value, profile_id, root_id in conn.exec_driver_sql(sql, params):
                    origin[(kind, value)] = profile_id
                    if root_id != profile_id:
                        parent[profile_id] = root_id
                    found.append(profile_id)
        return found

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
_SQL: dict[tuple[str, int], str] = {}


def _identifiers_sql(conn: Connection, values: Sequence[str]) -> tuple[str, Sequence[str]]:
    """The driver-level look-up of identifiers of one type, and ``values`` padded for it.

    The hot path's most frequent query skips SQLAlchemy's per-call compilation of the
    expanding ``IN``: the text is built once per size, sizes rounded up to a power of two
    (padded with a repeated value, which ``IN`` ignores) so the driver reuses its prepared
    statements. Placeholders: sqlite3 ``?``, psycopg ``%s``.
    """
    size = 1 << max(3, (len(values) - 1).bit_length())
    mark = repo.mark(conn)
    sql = _SQL.get((mark, size))
    if sql is None:
        i, p = profile_identifiers.name, profiles.name
        sql = _SQL[(mark, size)] = (
            f"SELECT i.value, i.profile_id, p.root_id FROM {i} AS i JOIN {p} AS p"
            f" ON p.id = i.profile_id WHERE i.workspace_id = {mark} AND i.type = {mark}"
            f" AND i.value IN ({', '.join([mark] * size)})"
        )
    return sql, [*values, *([values[-1]] * (size - len(values)))]


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
