"""Who a data subject is: their profile and every identifier, user id and anonymous id.

The identity room's public functions (``profile_of``, ``profile_view``) answer first. Events
that identity never attributed (identity not running, or events older than it) still belong to
someone: for those the event log itself is the directory, and the profile id is a pseudonym
derived from the workspace and the user id. Both paths live here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, or_, select

from crmos import identity
from crmos.core.errors import NotFound, Problem, ValidationError
from crmos.core.event import Event
from crmos.ingest import EventReader
from crmos.store import EventQuery, subject_events
from crmos.store.tables import events

_IN_CHUNK = 900
# Trait names whose values identify a person (scanned for after an erasure).
IDENTIFYING_TRAITS = frozenset(
    {
        "email",
        "phone",
        "mobile",
        "name",
        "full_name",
        "cpf",
        "cnpj",
        "national_id",
        "passport",
        "iban",
        "vat_id",
        "tax_id",
        "address",
        "street",
        "wechat_openid",
        "wechat_unionid",
        "pos_member_id",
    }
)
MIN_NEEDLE = 5


@dataclass(frozen=True, slots=True)
class Subject:
    """A data subject: a pseudonymous profile id and everything that identifies the person."""

    workspace_id: str
    profile_id: str
    user_ids: tuple[str, ...] = ()
    anonymous_ids: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()
    traits: Mapping[str, Any] = field(default_factory=dict)
    profile_ids: tuple[str, ...] = ()
    seqs: tuple[int, ...] = ()

    @property
    def key_subjects(self) -> tuple[str, ...]:
        """The vault subjects (``user:ID``, ``anon:ID``) whose data keys encrypt their events."""
        return tuple(
            [f"user:{u}" for u in self.user_ids] + [f"anon:{a}" for a in self.anonymous_ids]
        )

    @property
    def needles(self) -> tuple[str, ...]:
        """Strings whose presence anywhere means a readable copy of the person's data."""
        found = {v for _, v in self.identifiers} | set(self.user_ids) | set(self.anonymous_ids)
        for name, value in self.traits.items():
            if name in IDENTIFYING_TRAITS and isinstance(value, str | int):
                found.add(str(value))
        return tuple(sorted(n for n in found if len(n) >= MIN_NEEDLE))

    def identifiers_of(self, kind: str) -> list[str]:
        """Values of identifiers of type ``kind`` (``email``, ``phone`` ...)."""
        values = [v for t, v in self.identifiers if t == kind]
        trait = self.traits.get(kind)
        if isinstance(trait, str) and trait not in values:
            values.append(trait)
        return values


def pseudonym(workspace_id: str, kind: str, value: str) -> str:
    """The profile id of a person identity never saw (a hash: no identifier inside)."""
    digest = hashlib.sha256(f"{workspace_id}\x00{kind}\x00{value}".encode()).hexdigest()
    return f"sub_{digest[:32]}"


class Directory:
    """Finds subjects through identity, else through the event log."""

    def __init__(self, reader: EventReader) -> None:
        self._reader = reader

    def find(self, conn: Connection, workspace_id: str, kind: str, value: str) -> Subject:
        """The subject holding identifier ``kind:value``; :class:`NotFound` when nobody does."""
        if kind == "profile_id":
            return self.by_profile(conn, workspace_id, value)
        root = _identity_profile(conn, workspace_id, kind, value)
        if root is not None:
            return self._from_identity(conn, workspace_id, root)
        if kind in ("user_id", "anonymous_id"):
            subject = self._from_log(conn, workspace_id, kind, value)
            if subject is not None:
                return subject
        raise NotFound("data subject", f"{kind}:{_mask(value)}")

    def by_profile(self, conn: Connection, workspace_id: str, profile_id: str) -> Subject:
        """The subject of ``profile_id`` (an identity profile or an event-log pseudonym)."""
        root = identity.resolve(conn, workspace_id, profile_id)
        if root is not None:
            return self._from_identity(conn, workspace_id, root)
        for kind, column in (
            ("user_id", events.c.user_id),
            ("anonymous_id", events.c.anonymous_id),
        ):
            for value in _distinct(conn, workspace_id, column):
                if pseudonym(workspace_id, kind, value) == profile_id:
                    subject = self._from_log(conn, workspace_id, kind, value)
                    if subject is not None:
                        return self._stitched_since(conn, subject)
        raise NotFound("profile", profile_id)

    def profiles_for_events(self, conn: Connection, events: Sequence[Event]) -> list[str]:
        """The (root) profile each of ``events`` belongs to, looked up in one query; a
        pseudonym for an event identity did not place."""
        placed = identity.event_profiles(conn, [e.seq for e in events if e.seq is not None])
        return [
            placed[e.seq][1]
            if e.seq in placed
            else pseudonym(e.workspace_id, "user_id", e.user_id)
            if e.user_id
            else pseudonym(e.workspace_id, "anonymous_id", e.anonymous_id or "")
            for e in events
        ]

    def _from_identity(self, conn: Connection, workspace_id: str, root: str) -> Subject:
        view = identity.profile_view(conn, workspace_id, root)
        tree = (str(view["id"]), *(str(p) for p in view.get("merged_ids", [])))
        seqs = identity.event_seqs(conn, tree)
        user_ids, anon_ids = _ids_of_events(conn, workspace_id, seqs)
        idents = tuple((str(i["type"]), str(i["value"])) for i in view.get("identifiers", []))
        user_ids |= {v for t, v in idents if t == "user_id"}
        anon_ids |= {v for t, v in idents if t == "anonymous_id"}
        return Subject(
            workspace_id=workspace_id,
            profile_id=str(view["id"]),
            user_ids=tuple(sorted(user_ids)),
            anonymous_ids=tuple(sorted(anon_ids)),
            identifiers=idents,
            traits=dict(view.get("traits", {})),
            profile_ids=tree,
            seqs=tuple(seqs),
        )

    def _stitched_since(self, conn: Connection, subject: Subject) -> Subject:
        """``subject`` (found through the log) with the profiles identity made for them since.

        A request names the person by their log pseudonym when identity had not stitched them
        yet; by the time it runs, identity may have. Every room must then forget that profile
        too: it becomes the subject's id, and the pseudonym stays in the tree for the rooms
        that filed the person's data under it.
        """
        ws, kind = subject.workspace_id, "user_id" if subject.user_ids else "anonymous_id"
        values = subject.user_ids or subject.anonymous_ids
        roots = sorted(
            {r for v in values if (r := _identity_profile(conn, ws, kind, v)) is not None}
        )
        if not roots:
            return subject
        found = [self._from_identity(conn, ws, root) for root in roots]
        return replace(
            subject,
            profile_id=found[0].profile_id,
            user_ids=_union(subject.user_ids, *(f.user_ids for f in found)),
            anonymous_ids=_union(subject.anonymous_ids, *(f.anonymous_ids for f in found)),
            identifiers=tuple(dict.fromkeys((*subject.identifiers, *_flat(found)))),
            traits={**subject.traits, **{k: v for f in found for k, v in f.traits.items()}},
            profile_ids=(*(p for f in found for p in f.profile_ids), subject.profile_id),
            seqs=tuple(sorted({*subject.seqs, *(q for f in found for q in f.seqs)})),
        )

    def _from_log(
        self, conn: Connection, workspace_id: str, kind: str, value: str
    ) -> Subject | None:
        users, anons = ([value], []) if kind == "user_id" else ([], [value])
        rows = subject_events(conn, workspace_id, users, anons, limit=10_000_000)  # all tiers
        if not rows:
            return None
        user_ids = {r.user_id for r in rows if r.user_id}
        anon_ids = {r.anonymous_id for r in rows if r.anonymous_id}
        traits = self._traits(workspace_id, user_ids)
        idents = [("user_id", u) for u in sorted(user_ids)]
        idents += [("anonymous_id", a) for a in sorted(anon_ids)]
        idents += [(k, str(v)) for k, v in traits.items() if k in ("email", "phone")]
        return Subject(
            workspace_id=workspace_id,
            profile_id=pseudonym(workspace_id, kind, value),
            user_ids=tuple(sorted(user_ids)),
            anonymous_ids=tuple(sorted(anon_ids)),
            identifiers=tuple(idents),
            traits=traits,
            seqs=tuple(sorted(r.seq for r in rows)),
        )

    def _traits(self, workspace_id: str, user_ids: Iterable[str]) -> dict[str, Any]:
        traits: dict[str, Any] = {}
        for user_id in sorted(user_ids):
            query = EventQuery(workspace_id, user_id=user_id, type="identify", limit=10_000)
            for event in self._reader.events(query):
                found = event.body.get("traits")
                if isinstance(found, dict):
                    traits.update(found)
        return traits


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({v for g in groups for v in g}))


def _flat(found: list[Subject]) -> list[tuple[str, str]]:
    return [i for f in found for i in f.identifiers]


def _identity_profile(conn: Connection, workspace_id: str, kind: str, value: str) -> str | None:
    try:
        return identity.profile_of(conn, workspace_id, kind, value)
    except ValidationError as exc:
        if kind in ("user_id", "anonymous_id"):
            return None
        raise ValidationError(
            "cannot look this data subject up",
            [Problem("identifier", p.message) for p in exc.problems] or None,
        ) from exc


def _ids_of_events(
    conn: Connection, workspace_id: str, seqs: list[int]
) -> tuple[set[str], set[str]]:
    user_ids: set[str] = set()
    anon_ids: set[str] = set()
    for start in range(0, len(seqs), _IN_CHUNK):
        part = seqs[start : start + _IN_CHUNK]
        for row in conn.execute(
            select(events.c.user_id, events.c.anonymous_id).where(
                events.c.workspace_id == workspace_id, events.c.seq.in_(part)
            )
        ):
            if row.user_id:
                user_ids.add(row.user_id)
            if row.anonymous_id:
                anon_ids.add(row.anonymous_id)
    return user_ids, anon_ids


def _distinct(conn: Connection, workspace_id: str, column: Any) -> list[str]:
    rows = conn.execute(
        select(column).where(events.c.workspace_id == workspace_id, column.is_not(None)).distinct()
    ).scalars()
    return [str(v) for v in rows]


def _mask(value: str) -> str:
    """An identifier shown in an error without revealing it whole."""
    return value[:2] + "***" if len(value) > 4 else "***"


def events_of(subject: Subject) -> Any:
    """A WHERE clause selecting every event-log row of ``subject``."""
    clauses = []
    if subject.user_ids:
        clauses.append(events.c.user_id.in_(subject.user_ids))
    if subject.anonymous_ids:
        clauses.append(events.c.anonymous_id.in_(subject.anonymous_ids))
    if not clauses:
        return events.c.seq.in_(subject.seqs[:_IN_CHUNK] or [-1])
    return (events.c.workspace_id == subject.workspace_id) & or_(*clauses)
