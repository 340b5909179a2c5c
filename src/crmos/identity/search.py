"""Listing and searching live profiles: keyset pages over the search rows, narrowed by the
blind index (every query term must match one of its tokens) and by filters.

The cursor is opaque to callers: the sort, the last row's sort value and id, base64url. Facts
other rooms own (audiences, role scores, consent) arrive as a pre-filtered set of live profile
ids (``ProfileFilters.within``); identity reads only its own tables.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import orjson
from sqlalchemy import Connection, Select, and_, exists, func, or_, select

from crmos.core.errors import Problem, ValidationError
from crmos.identity import repo
from crmos.identity.search_tokens import NAME_TRAITS, blind, query_terms, touchpoint_token
from crmos.store.tables_identity import (
    identity_reviews,
    profile_identifiers,
    profile_search_rows,
    profile_search_tokens,
    profiles,
)

Sort = Literal["-last_seen", "last_seen", "-created", "created"]
SORTS: tuple[Sort, ...] = ("-last_seen", "last_seen", "-created", "created")
MAX_LIMIT = 200
READ = 8000
"""A term matching at most this many index rows is read whole: its profiles narrow the
candidates (two middling words, such as a first and a last name, meet in a few profiles)."""
DRIVE = 1000
"""Candidates up to this many are fetched by key and sorted; more are kept while walking the
sort index (they are then common enough that a page turns up soon)."""
_r, _t, _p = profile_search_rows.c, profile_search_tokens.c, profiles.c


@dataclass(frozen=True, slots=True)
class ProfileFilters:
    """What a listing keeps: all given conditions must hold."""

    touchpoint: str | None = None
    last_seen_after_ms: int | None = None
    last_seen_before_ms: int | None = None
    marketing_suppressed: bool | None = None
    open_review: bool | None = None
    within: frozenset[str] | None = None
    """Live profile ids another room selected (audience, role score, consent); None: all."""
    without: frozenset[str] | None = None
    """Profile ids to leave out (a listing that shows them elsewhere, e.g. ranked by value)."""


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """One live profile as a list shows it."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    account: str | None
    created_ms: int
    last_seen_ms: int
    events: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "account": self.account,
            "created_ms": self.created_ms,
            "last_seen_ms": self.last_seen_ms,
            "events": self.events,
        }


@dataclass(frozen=True, slots=True)
class ProfilePage:
    """A page of profiles and the cursor of the next one (None on the last page)."""

    data: list[ProfileSummary] = field(default_factory=list)
    next_cursor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"data": [s.as_dict() for s in self.data], "next_cursor": self.next_cursor}


def search_profiles(
    conn: Connection,
    key: bytes,
    workspace_id: str,
    query: str = "",
    filters: ProfileFilters | None = None,
    sort: Sort = "-last_seen",
    cursor: str | None = None,
    limit: int = 50,
) -> ProfilePage:
    """Live profiles matching ``query`` (every term; empty lists all) and ``filters``.

    ``key`` is the workspace's search key (``Vault.search_key``). Profiles stitched since the
    last indexing appear once ``index_pending`` ran. ``ValidationError`` for an unknown sort,
    a limit outside 1..MAX_LIMIT or a cursor of another sort or not made here.
    """
    if sort not in SORTS:
        raise ValidationError("unknown sort", [Problem("sort", f"'{sort}'; valid: {SORTS}")])
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("bad limit", [Problem("limit", f"must be 1..{MAX_LIMIT}")])
    filters = filters or ProfileFilters()
    narrowed = _narrowed(conn, key, workspace_id, query, filters)
    if narrowed is None:
        return ProfilePage()
    stmt, driven, keep, drop, _ = narrowed
    column = _r.last_seen_ms if sort.endswith("last_seen") else _r.created_ms
    desc = sort.startswith("-")
    if cursor is not None:
        value, after = decode_cursor(cursor, sort)
        ahead = column < value if desc else column > value
        tie = _r.profile_id < after if desc else _r.profile_id > after
        stmt = stmt.where(or_(ahead, and_(column == value, tie)))
    # A few candidates: fetch them by key and sort them; "+ 0" keeps SQLite from walking the
    # whole sort index instead (it has no statistics to tell how few they are).
    sort_by = column + 0 if driven else column
    order = (sort_by.desc(), _r.profile_id.desc()) if desc else (sort_by, _r.profile_id)
    rows = _fetch(conn, stmt.order_by(*order), keep, drop, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    data = summaries(conn, workspace_id, rows)
    if not more:
        return ProfilePage(data)
    last = rows[-1]
    value = last["last_seen_ms"] if sort.endswith("last_seen") else last["created_ms"]
    return ProfilePage(data, encode_cursor(sort, value, last["profile_id"]))


def candidates_of(
    conn: Connection,
    key: bytes,
    workspace_id: str,
    query: str = "",
    filters: ProfileFilters | None = None,
) -> frozenset[str] | None:
    """A superset of the profiles matching ``query`` and ``filters`` (None: no short list is
    known), so another ordering (a value ranking) can look among these alone."""
    narrowed = _narrowed(conn, key, workspace_id, query, filters or ProfileFilters())
    return frozenset() if narrowed is None else narrowed.ids


class Narrowed(NamedTuple):
    """A listing's statement, whether a short list of ids drives it (fetched by key, then
    sorted), and the ids to keep from (None: all) and drop from the rows it streams otherwise."""

    stmt: Select[Any]
    driven: bool
    keep: frozenset[str] | None
    drop: frozenset[str] | None = None
    ids: frozenset[str] | None = None
    """Every profile the listing can hold is one of these (None: no short list is known)."""


def _narrowed(
    conn: Connection, key: bytes, workspace_id: str, query: str, filters: ProfileFilters
) -> Narrowed | None:
    """The rows statement with every term and filter applied; None when nothing can match."""
    stmt = select(_r.profile_id, _r.created_ms, _r.last_seen_ms, _r.events)
    terms = query_terms(query)
    if query.strip() and not terms:
        return None
    if filters.touchpoint is not None:
        terms.append({touchpoint_token(filters.touchpoint)})
    candidates = filters.within
    counted = sorted((_count(conn, workspace_id, h), h) for h in (blind(key, t) for t in terms))
    if counted and counted[0][0] == 0:
        return None
    for count, hashed in counted:
        matching = select(_t.profile_id).where(
            _t.workspace_id == workspace_id, _t.token.in_(hashed)
        )
        if count <= READ:
            found = frozenset(conn.execute(matching).scalars())
            candidates = found if candidates is None else candidates & found
        else:  # probed per row by primary key: IN would first collect every match
            stmt = stmt.where(
                exists().where(
                    _t.workspace_id == workspace_id,
                    _t.token.in_(hashed),
                    _t.profile_id == _r.profile_id,
                )
            )
    if filters.last_seen_after_ms is not None:
        stmt = stmt.where(_r.last_seen_ms >= filters.last_seen_after_ms)
    if filters.last_seen_before_ms is not None:
        stmt = stmt.where(_r.last_seen_ms < filters.last_seen_before_ms)
    if filters.marketing_suppressed is not None:
        held = exists().where(_p.root_id == _r.profile_id, _p.marketing_suppressed.is_(True))
        stmt = stmt.where(held if filters.marketing_suppressed else ~held)
    if filters.open_review is not None:
        reviewed = sorted(open_review_roots(conn, workspace_id))
        cond = _r.profile_id.in_(reviewed)
        stmt = stmt.where(cond if filters.open_review else ~cond)
    if candidates is not None and filters.without:
        candidates = candidates - filters.without
    if candidates is not None and not candidates:
        return None
    driven = candidates is not None and len(candidates) <= DRIVE
    if driven and candidates is not None:
        stmt = stmt.where(_r.profile_id.in_(sorted(candidates)))
    # Driven by ids, the workspace is checked on each row found by key ("|| ''" keeps SQLite
    # from walking the workspace's index instead); otherwise its index is the way in.
    mine = (_r.workspace_id + "") if driven else _r.workspace_id
    keep = None if driven else candidates
    drop = filters.without if candidates is None else None
    return Narrowed(stmt.where(mine == workspace_id), driven, keep, drop or None, candidates)


def _count(conn: Connection, workspace_id: str, hashed: list[bytes]) -> int:
    """Index rows holding one of ``hashed`` (a cheap count over the token index)."""
    stmt = select(func.count()).where(_t.workspace_id == workspace_id, _t.token.in_(hashed))
    return int(conn.execute(stmt).scalar_one())


def _fetch(
    conn: Connection,
    stmt: Select[Any],
    keep: frozenset[str] | None,
    drop: frozenset[str] | None,
    want: int,
) -> list[dict[str, Any]]:
    """Up to ``want`` rows; with ``keep`` only rows of those ids, with ``drop`` none of those,
    filtered as they stream in."""
    if keep is None and drop is None:
        return [dict(r._mapping) for r in conn.execute(stmt.limit(want))]
    out: list[dict[str, Any]] = []
    # Closed on leaving: a page found early leaves PostgreSQL's server-side cursor open.
    with conn.execute(stmt.execution_options(yield_per=1000)) as result:
        for row in result:
            if (keep is None or row.profile_id in keep) and not (drop and row.profile_id in drop):
                out.append(dict(row._mapping))
                if len(out) == want:
                    break
    return out


def open_review_roots(conn: Connection, workspace_id: str) -> set[str]:
    """Live profiles named by an open review ticket."""
    r = identity_reviews.c
    named: set[str] = set()
    stmt = select(r.subject_profiles).where(r.workspace_id == workspace_id, r.status == "open")
    for (subjects,) in conn.execute(stmt):
        named.update(repo.loads(subjects))
    return roots_of(conn, workspace_id, named)


def roots_of(conn: Connection, workspace_id: str, profile_ids: Iterable[str]) -> set[str]:
    """The live profiles that ``profile_ids`` (merged or not) resolve to."""
    out: set[str] = set()
    for part in repo.chunks(sorted(profile_ids)):
        stmt = select(_p.root_id, _p.workspace_id).where(_p.id.in_(part))  # by primary key
        out.update(root for root, ws in conn.execute(stmt) if ws == workspace_id)
    return out


def summaries(
    conn: Connection, workspace_id: str, rows: Sequence[dict[str, Any]]
) -> list[ProfileSummary]:
    """Summaries of search rows (``profile_id``, ``created_ms``, ``last_seen_ms``, ``events``)."""
    ids = [r["profile_id"] for r in rows]
    # By primary key alone: with the workspace in the WHERE, SQLite walks the workspace index.
    stmt = select(_p.id, _p.workspace_id, _p.traits).where(_p.id.in_(ids))
    traits = {
        pid: {n: e[0] for n, e in orjson.loads(text).items()}
        for pid, ws, text in conn.execute(stmt)
        if ws == workspace_id
    }
    # E-mail and phone come from the traits; identifiers only fill in what traits lack.
    lacking = [
        pid for pid, t in traits.items() if not (_text(t.get("email")) and _text(t.get("phone")))
    ]
    contacts = _contacts(conn, lacking) if lacking else {}
    out = []
    for r in rows:
        values = traits.get(r["profile_id"], {})
        email, phone = contacts.get(r["profile_id"], (None, None))
        out.append(
            ProfileSummary(
                r["profile_id"],
                display_name(values),
                _text(values.get("email")) or email,
                _text(values.get("phone")) or phone,
                account_name(values),
                int(r["created_ms"]),
                int(r["last_seen_ms"]),
                int(r["events"]),
            )
        )
    return out


def _contacts(conn: Connection, roots: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """The first e-mail and phone identifier of each live profile's tree."""
    owner = dict(conn.execute(select(_p.id, _p.root_id).where(_p.root_id.in_(roots))).all())
    i = profile_identifiers.c
    stmt = (
        select(i.profile_id, i.type, i.value, i.created_ms)
        .where(i.profile_id.in_(sorted(owner)))  # by its index: a type filter could scan
        .order_by(i.created_ms)
    )
    found: dict[str, dict[str, str]] = {}
    for pid, kind, value, _ in conn.execute(stmt):
        if kind in ("email", "phone"):
            found.setdefault(owner[pid], {}).setdefault(kind, value)
    return {root: (v.get("email"), v.get("phone")) for root, v in found.items()}


def display_name(traits: dict[str, Any]) -> str | None:
    """A person's name from their traits: ``name``, else first and last name, else others."""
    if name := _text(traits.get("name")):
        return name
    parts = [_text(traits.get(k)) for k in ("first_name", "firstName", "last_name", "lastName")]
    joined = " ".join(p for p in parts if p)
    if joined:
        return joined
    return next((t for k in NAME_TRAITS if (t := _text(traits.get(k)))), None)


def account_name(traits: dict[str, Any]) -> str | None:
    """The company a person's traits name (``company`` as text or ``{name}``)."""
    company = traits.get("company")
    if isinstance(company, dict):
        company = company.get("name") or company.get("id")
    return _text(company)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def encode_cursor(sort: str, value: int, profile_id: str) -> str:
    """An opaque cursor for the row after (``value``, ``profile_id``) in ``sort`` order."""
    raw = orjson.dumps([sort, value, profile_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[int, str]:
    """The (value, profile id) a cursor holds; ``ValidationError`` if not one for ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, profile_id = orjson.loads(raw)
        if made_for == sort and isinstance(value, int) and isinstance(profile_id, str):
            return value, profile_id
    except (binascii.Error, ValueError, TypeError):
        pass
    problem = Problem("cursor", "is not a cursor of this listing; start again without it")
    raise ValidationError("bad cursor", [problem])


def profile_summaries(
    conn: Connection, workspace_id: str, profile_ids: Sequence[str]
) -> list[ProfileSummary]:
    """Summaries of indexed live profiles (others are left out), in the order given."""
    rows: dict[str, dict[str, Any]] = {}
    for part in repo.chunks(sorted(set(profile_ids))):
        stmt = select(_r.profile_id, _r.created_ms, _r.last_seen_ms, _r.events).where(
            (_r.workspace_id + "") == workspace_id,
            _r.profile_id.in_(part),  # by key
        )
        rows.update((r.profile_id, dict(r._mapping)) for r in conn.execute(stmt))
    ordered = [rows[pid] for pid in dict.fromkeys(profile_ids) if pid in rows]
    return summaries(conn, workspace_id, ordered)


def bare_queries(
    workspace_id: str, limit: int
) -> tuple[Select[Any], Callable[[bytes], Select[Any]]]:
    """Benchmarks' floor: the bare indexed statements listing and search stand on (the
    ``limit`` most recently seen live profiles; the profiles holding one index token)."""
    newest = (
        select(_r.profile_id)
        .where(_r.workspace_id == workspace_id)
        .order_by(_r.last_seen_ms.desc())
        .limit(limit)
    )

    def holding(token: bytes) -> Select[Any]:
        return select(_t.profile_id).where(_t.workspace_id == workspace_id, _t.token == token)

    return newest, holding


def index_size(conn: Connection) -> int:
    """How many blind-index rows the store holds (every workspace)."""
    return int(conn.execute(select(func.count()).select_from(profile_search_tokens)).scalar_one())
