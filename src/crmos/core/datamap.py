"""The erasure contract every room signs: what it holds about a person, and how it forgets.

Like a Fides dataset, each room declares in one :class:`DataMap` every table, column, file and
cache that holds personal data, and registers one :class:`Eraser`. The composition root hands
the registrations (:class:`Room`) to compliance, whose DSR engine calls every eraser; a room
whose map names personal data but that registers no eraser leaves an erasure ``incomplete``.

The types live in core because the rooms that hold data (agent, sagas, graph ...) sit to the
right of compliance in the layer order and cannot import it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Connection

HoldingKind = Literal["table", "file", "cache", "log"]
# delete: rows/files go; pseudonymise: kept as a record, the person's strings replaced;
# shred: unreadable once the data key is destroyed; prevent: never written in the first place.
ErasedBy = Literal["delete", "pseudonymise", "shred", "prevent"]
ALIAS_PREFIX = "erased:"


@dataclass(frozen=True, slots=True)
class Holding:
    """One place a room keeps personal data: a table (and its columns), a file or a cache."""

    kind: HoldingKind
    name: str
    fields: tuple[str, ...] = ()
    found_by: str = ""
    erased_by: ErasedBy = "delete"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "kind": self.kind,
            "name": self.name,
            "fields": list(self.fields),
            "found_by": self.found_by,
            "erased_by": self.erased_by,
        }


@dataclass(frozen=True, slots=True)
class DataMap:
    """Everything one room holds about a person."""

    room: str
    holdings: tuple[Holding, ...] = ()
    note: str = ""

    @property
    def personal(self) -> bool:
        """Whether the room holds any personal data (then it must register an eraser)."""
        return bool(self.holdings)

    def tables(self) -> tuple[str, ...]:
        """The names of the tables the map declares."""
        return tuple(h.name for h in self.holdings if h.kind == "table")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "room": self.room,
            "holdings": [h.as_dict() for h in self.holdings],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Person:
    """Whom an eraser forgets: the pseudonymous profile tree and every identifying string."""

    workspace_id: str
    profile_ids: tuple[str, ...]
    identifiers: tuple[tuple[str, str], ...] = ()
    user_ids: tuple[str, ...] = ()
    anonymous_ids: tuple[str, ...] = ()
    seqs: tuple[int, ...] = ()
    needles: tuple[str, ...] = ()

    def values_of(self, kind: str) -> list[str]:
        """Identifier values of type ``kind`` (``email``, ``phone`` ...)."""
        return [v for t, v in self.identifiers if t == kind]


@dataclass(frozen=True, slots=True)
class Erased:
    """What an eraser did: rows or files per place, and what it could not do yet (and why)."""

    counts: Mapping[str, int] = field(default_factory=dict)
    unfinished: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Everything erased, all places together."""
        return sum(self.counts.values())


class Eraser(Protocol):
    """A room's one eraser: forgets ``person`` in the caller's transaction."""

    def erase(self, conn: Connection, person: Person) -> Erased:
        """Delete or pseudonymise everything the room's data map names about ``person``."""
        ...


@dataclass(frozen=True, slots=True)
class Room:
    """A room's registration with the DSR engine: its data map and its eraser (or none)."""

    data_map: DataMap
    eraser: Eraser | None

    @property
    def name(self) -> str:
        """The room's name."""
        return self.data_map.room


def alias(needle: str) -> str:
    """The stable pseudonym that replaces ``needle`` (the same one compliance's sweep writes)."""
    return ALIAS_PREFIX + hashlib.sha256(needle.encode()).hexdigest()[:12]


def redact(text: str, needles: Iterable[str]) -> str:
    """``text`` with every needle (any case, also JSON-escaped) replaced by its alias."""
    for needle in sorted(set(needles), key=len, reverse=True):
        for form in dict.fromkeys((needle, json.dumps(needle)[1:-1])):
            text = re.sub(re.escape(form), alias(needle), text, flags=re.IGNORECASE)
    return text


def mentions(text: str | None, needles: Iterable[str]) -> bool:
    """Whether ``text`` holds any needle (any case, also JSON-escaped)."""
    if not text:
        return False
    folded = text.casefold()
    return any(form.casefold() in folded for n in needles for form in (n, json.dumps(n)[1:-1]))
