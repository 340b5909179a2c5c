"""Erasing a person from identity: the profile tree and everything identity holds about it.

Compliance calls ``erase_profile`` for an erasure request, so no other room reaches into
identity's tables. Identifiers, trait statements (``profile_events``), merges, conflicts,
review tickets naming the profiles, the rejected identifiers of the person's events and their
search index entries go.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table, delete, or_, select
from sqlalchemy.sql.elements import ColumnElement

from crmos.core.datamap import DataMap, Erased, Holding, Person
from crmos.core.errors import ValidationError
from crmos.identity.changes import forget_changes
from crmos.identity.repo import chunks, lock_workspace
from crmos.identity.search_index import forget
from crmos.identity.views import profile_of
from crmos.store.tables_identity import (
    identity_conflicts,
    identity_merges,
    identity_rejections,
    identity_reviews,
    profile_events,
    profile_identifiers,
    profiles,
)
from crmos.store.tables_matching import identity_match_suggestions


def erase_profile(
    conn: Connection,
    workspace_id: str,
    profile_ids: Sequence[str],
    seqs: Sequence[int] = (),
) -> dict[str, int]:
    """Delete the profiles ``profile_ids`` (a merge tree) and identity's data about them.

    ``seqs`` are the person's event sequence numbers, whose rejected identifiers go too.
    Returns the rows deleted per table (empty for no profile). Identity's writers cache
    identifiers, so the workspace's epoch moves on and they drop what they hold.
    """
    tree, ws = list(profile_ids), workspace_id
    if not tree:
        return {}
    m, c, r = identity_merges.c, identity_conflicts.c, identity_reviews.c
    counts = {
        "profile_identifiers": _delete(
            conn, profile_identifiers, profile_identifiers.c.profile_id.in_(tree)
        ),
        "profile_events": _delete(conn, profile_events, profile_events.c.profile_id.in_(tree)),
        "identity_merges": _delete(
            conn,
            identity_merges,
            (m.workspace_id == ws) & or_(m.survivor_id.in_(tree), m.other_id.in_(tree)),
        ),
        "identity_changes": forget_changes(conn, ws, tree),
        "identity_conflicts": _delete(
            conn,
            identity_conflicts,
            (c.workspace_id == ws) & or_(c.owner_id.in_(tree), c.claimant_id.in_(tree)),
        ),
        "identity_reviews": _delete(
            conn,
            identity_reviews,
            (r.workspace_id == ws) & or_(*(r.subject_profiles.contains(p) for p in tree)),
        ),
        "identity_rejections": _erase_rejections(conn, ws, seqs),
        "profiles": _delete(
            conn, profiles, (profiles.c.workspace_id == ws) & profiles.c.id.in_(tree)
        ),
    }
    counts |= forget(conn, ws, tree)  # the person's blind-index tokens and search row
    lock_workspace(conn, ws)
    return counts


def _erase_rejections(conn: Connection, workspace_id: str, seqs: Sequence[int]) -> int:
    t = identity_rejections.c
    return sum(
        _delete(conn, identity_rejections, (t.workspace_id == workspace_id) & t.seq.in_(part))
        for part in chunks(sorted(seqs))
    )


def _delete(conn: Connection, table: Table, where: ColumnElement[bool]) -> int:
    return conn.execute(delete(table).where(where)).rowcount or 0


# Everything identity holds about a person. The blind index (keyed digests of their names,
# e-mails and phones, linkable to the profile) is erased by ``erase_profile`` too.
DATA_MAP = DataMap(
    room="identity",
    holdings=(
        Holding("table", "profiles", ("traits",), "id in the profile tree"),
        Holding("table", "profile_identifiers", ("type", "value"), "profile_id in the tree"),
        Holding("table", "profile_events", ("traits",), "profile_id in the tree"),
        Holding("table", "identity_merges", ("evidence",), "survivor or other in the tree"),
        Holding("table", "identity_changes", (), "survivor or other in the tree"),
        Holding(
            "table",
            "identity_conflicts",
            ("identifier_value", "owner_account", "claimant_account", "evidence"),
            "owner or claimant in the tree",
        ),
        Holding("table", "identity_reviews", ("identifier_value", "evidence"), "subject_profiles"),
        Holding("table", "identity_rejections", ("value",), "seq of the person's events"),
        Holding("table", "identity_match_suggestions", ("evidence",), "left or right in the tree"),
        Holding("table", "profile_search_tokens", ("token",), "profile_id in the tree"),
        Holding("table", "profile_search_rows", (), "profile_id in the tree"),
        Holding("table", "profile_search_pending", (), "profile_id in the tree"),
    ),
)


class IdentityEraser:
    """Identity's eraser: :func:`erase_profile` plus the batch matcher's suggestions."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Forget ``person``'s profile tree and every identity record naming it.

        The tree is looked up again under the workspace lock: the person was resolved before
        this transaction, and the stitcher may have stitched them since (a person the log
        alone knew when the erasure was asked for). Holding the lock, no stitcher commits
        until the erasure does, and the stitcher then skips the events the erasure deleted.
        """
        ws = person.workspace_id
        lock_workspace(conn, ws)
        tree = sorted(set(person.profile_ids) | _stitched_since(conn, person))
        counts = erase_profile(conn, ws, tree, person.seqs)
        s = identity_match_suggestions.c
        counts["identity_match_suggestions"] = sum(
            _delete(
                conn,
                identity_match_suggestions,
                (s.workspace_id == ws) & or_(s.left_id.in_(part), s.right_id.in_(part)),
            )
            for part in chunks(tree)
        )
        return Erased(counts)


def _stitched_since(conn: Connection, person: Person) -> set[str]:
    """The profiles, with their merge trees, that now hold the person's user ids (their
    anonymous ids for a person without one).

    Only the ids that define the person in the log count: an e-mail or a shared device's
    anonymous id the log attributes to them may belong to another profile in identity.
    """
    ws, roots = person.workspace_id, set[str]()
    kind = "user_id" if person.user_ids else "anonymous_id"
    for value in person.user_ids or person.anonymous_ids:
        try:
            root = profile_of(conn, ws, kind, value)
        except ValidationError:  # a value identity would not keep: it holds no profile
            continue
        if root is not None:
            roots.add(root)
    p = profiles.c
    tree: set[str] = set()
    for part in chunks(sorted(roots)):
        tree.update(
            conn.execute(select(p.id).where(p.workspace_id == ws, p.root_id.in_(part))).scalars()
        )
    return tree
