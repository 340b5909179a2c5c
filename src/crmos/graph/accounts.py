"""Accounts: the graph's account nodes, listed and searched by name, and one with its people.

People are the profiles with a current ``works_at`` edge to the account; the ids are live
profile ids (edges follow merges). Company names are not personal data and are matched as
text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, func, or_, select

from crmos.core.errors import NotFound
from crmos.graph.model import node_id
from crmos.store.tables_graph import graph_edges, graph_nodes

_n, _e = graph_nodes.c, graph_edges.c
PREFIX = "account:"


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account as a list shows it."""

    id: str
    name: str | None
    people: int
    created_ms: int
    updated_ms: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "name": self.name,
            "people": self.people,
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
        }


@dataclass(frozen=True, slots=True)
class AccountPerson:
    """A person working at an account, with the edge's weight and since when."""

    profile_id: str
    weight: float
    since_ms: int
    rule: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "profile_id": self.profile_id,
            "weight": self.weight,
            "since_ms": self.since_ms,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class Account:
    """An account with its people."""

    summary: AccountSummary
    props: dict[str, Any]
    people: list[AccountPerson] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        people = [p.as_dict() for p in self.people]
        return self.summary.as_dict() | {"props": self.props, "people_list": people}


def account_key(account_id: str) -> str:
    """The account's key: ``account:acme`` and ``acme`` both give ``acme``."""
    return account_id[len(PREFIX) :] if account_id.startswith(PREFIX) else account_id


def list_accounts(
    conn: Connection,
    workspace_id: str,
    query: str = "",
    after: str | None = None,
    limit: int = 50,
) -> tuple[list[AccountSummary], str | None]:
    """Accounts whose name or key contains ``query`` (any case), in id order, from after
    ``after``; returns the page and the id to pass as ``after`` for the next (None: last)."""
    stmt = select(graph_nodes).where(_n.workspace_id == workspace_id, _n.kind == "account")
    if query.strip():
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(_n.label).like(like), func.lower(_n.id).like(like)))
    if after:
        stmt = stmt.where(_n.id > node_id("account", account_key(after)))
    rows = conn.execute(stmt.order_by(_n.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    counts = _people_counts(conn, workspace_id, [r.id for r in rows])
    page = [_summary(r, counts.get(r.id, 0)) for r in rows]
    return page, (page[-1].id if more and page else None)


def get_account(
    conn: Connection, workspace_id: str, account_id: str, people_limit: int = 500
) -> Account:
    """The account (``account:KEY`` or ``KEY``) with its people, strongest first."""
    node = node_id("account", account_key(account_id))
    row = conn.execute(
        select(graph_nodes).where(_n.workspace_id == workspace_id, _n.id == node)
    ).one_or_none()
    if row is None:
        raise NotFound("account", account_id)
    edges = conn.execute(
        select(_e.src, _e.weight, _e.valid_from_ms, _e.rule)
        .where(_e.workspace_id == workspace_id, _e.dst == node, _e.type == "works_at")
        .where(_e.valid_to_ms.is_(None), _e.src.like("profile:%"))
        .order_by(_e.weight.desc(), _e.valid_from_ms)
    ).all()
    people: dict[str, AccountPerson] = {}
    for src, weight, since, rule in edges:  # merged people keep one entry, the strongest
        pid = src.partition(":")[2]
        people.setdefault(pid, AccountPerson(pid, float(weight), int(since), rule))
    listed = list(people.values())[:people_limit]
    return Account(_summary(row, len(people)), orjson.loads(row.props or "{}"), listed)


def _people_counts(conn: Connection, workspace_id: str, nodes: list[str]) -> dict[str, int]:
    if not nodes:
        return {}
    stmt = (
        select(_e.dst, func.count(func.distinct(_e.src)))
        .where(_e.workspace_id == workspace_id, _e.dst.in_(nodes), _e.type == "works_at")
        .where(_e.valid_to_ms.is_(None), _e.src.like("profile:%"))
        .group_by(_e.dst)
    )
    return {dst: int(n) for dst, n in conn.execute(stmt)}


def _summary(row: Any, people: int) -> AccountSummary:
    return AccountSummary(row.id, row.label, people, int(row.created_ms), int(row.updated_ms))
