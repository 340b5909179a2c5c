"""``crmos identity match``: batch matching over a workspace's live profiles.

The profiles' traits (name, birthday, address ...) are flattened into columns
(``address.postal_code`` -> ``address_postal_code``) and matched with the same inferred plan
as files. Pairs at or above ``identity.match_auto_threshold`` merge, as decisions carrying the
comparison evidence; pairs from ``identity.match_review_threshold`` up go to the review queue.
Every pair is kept in ``identity_match_suggestions`` with its evidence, and the run with its
trained model in ``identity_match_runs``. A pair suggested once is not suggested again, so a
rejected suggestion stays rejected.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection, Engine, or_, select

from crmos.core.errors import ConfigError, Problem, ValidationError
from crmos.core.ids import new_id
from crmos.core.settings import IdentitySettings
from crmos.identity import repo
from crmos.identity.config import effective_config
from crmos.identity.matching.account import ACCOUNT_COLUMN, one_bearer, sole_names, with_account
from crmos.identity.matching.evidence import Suggestion, suggestions_of
from crmos.identity.matching.files import build_run
from crmos.identity.matching.frames import connect
from crmos.identity.matching.frames import profiles as column_profiles
from crmos.identity.matching.guards import forename_clash, mailbox_clash, torn
from crmos.identity.matching.model import MatchPlan, infer_plan
from crmos.identity.matching.overrides import Overrides
from crmos.identity.matching.splink import EngineOptions
from crmos.identity.merges import merge_profiles
from crmos.identity.reviews import open_review
from crmos.store.tables_identity import profiles
from crmos.store.tables_matching import identity_match_runs, identity_match_suggestions

ID_COLUMN = "profile_id"
# Traits that describe a profile's company, not the person: colleagues share them.
_NOT_PERSONAL = ("company", "account", "group", "organization", "organisation")


@dataclass(frozen=True, slots=True)
class Person:
    """A live profile as matching sees it: flat text traits and its account, if any."""

    profile_id: str
    created_ms: int
    traits: dict[str, str]
    account: str | None


@dataclass(frozen=True, slots=True)
class WorkspaceMatch:
    """What one run of ``crmos identity match`` did."""

    run_id: str | None
    profiles: int
    pairs: int
    merged: int
    reviews: int
    seen_before: int
    seconds: float
    plan: MatchPlan | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


def match_workspace(
    engine: Engine,
    workspace_id: str,
    settings: IdentitySettings,
    *,
    options: EngineOptions | None = None,
) -> WorkspaceMatch:
    """Match the workspace's live profiles; merge the sure pairs, queue the likely ones."""
    started, clock = repo.now_ms(), time.perf_counter()
    with engine.connect() as conn:
        config = effective_config(conn, workspace_id, settings)
        auto, review = _thresholds(config)
        people = [
            p
            for p in load_people(conn, workspace_id, str(config.get("account_trait", "")))
            if p.traits
        ]
    if len(people) < 2:
        return WorkspaceMatch(None, len(people), 0, 0, 0, 0, time.perf_counter() - clock)
    opts = replace(options or EngineOptions(), threshold=review, evidence=True)
    with closing(connect()) as con:
        plan, model, found = score(con, people, opts)
    run = _Run(new_id("mrun_"), workspace_id, started, auto, review)
    with engine.begin() as conn:
        outcomes = apply(conn, workspace_id, run.id, people, found, auto, plan=plan)
        conn.execute(
            identity_match_runs.insert().values(run.row(people, found, outcomes, plan, model))
        )
    count = outcomes.get
    return WorkspaceMatch(
        run.id,
        len(people),
        len(found),
        count("merged", 0),
        count("review", 0),
        count("seen_before", 0),
        time.perf_counter() - clock,
        plan,
        outcomes,
    )


@dataclass(frozen=True, slots=True)
class _Run:
    """One matching run, as ``identity_match_runs`` keeps it."""

    id: str
    workspace_id: str
    started_ms: int
    auto: float
    review: float

    def row(
        self,
        people: Sequence[Person],
        found: Sequence[Suggestion],
        outcomes: dict[str, int],
        plan: MatchPlan,
        model: dict[str, Any],
    ) -> dict[str, Any]:
        """The run's row: counts, thresholds, the plan and the trained model."""
        return {
            "id": self.id,
            "workspace_id": self.workspace_id,
            "started_ms": self.started_ms,
            "finished_ms": repo.now_ms(),
            "profiles": len(people),
            "pairs": len(found),
            "merged": outcomes.get("merged", 0),
            "reviews": outcomes.get("review", 0),
            "auto_threshold": self.auto,
            "review_threshold": self.review,
            "plan": repo.dumps(plan_dict(plan)),
            "model": repo.dumps(model),
        }


def _thresholds(config: dict[str, Any]) -> tuple[float, float]:
    auto = float(config.get("match_auto_threshold", 0.99))
    review = float(config.get("match_review_threshold", 0.8))
    if review > auto:
        raise ConfigError(
            "identity.match_review_threshold",
            f"{review} is above identity.match_auto_threshold ({auto}); set it lower",
        )
    return auto, review


def load_people(conn: Connection, workspace_id: str, account_trait: str) -> list[Person]:
    """The workspace's live profiles with their traits flattened to text columns."""
    p = profiles.c
    rows = conn.execute(
        select(p.id, p.created_ms, p.traits)
        .where(p.workspace_id == workspace_id, p.root_id == p.id)
        .order_by(p.created_ms, p.id)
    )
    out = []
    for pid, created_ms, traits_json in rows:
        values = {name: entry[0] for name, entry in (repo.loads(traits_json) or {}).items()}
        account = _dig(values, account_trait.split(".")) if account_trait else None
        flat = dict(flatten(values))
        flat.pop(ID_COLUMN, None)
        out.append(Person(str(pid), int(created_ms), flat, account))
    return out


def flatten(values: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    """Personal traits as ``(column, text)``: nested keys joined by ``_``, lists skipped."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if not prefix and key.lower() in _NOT_PERSONAL:
            continue
        if isinstance(value, dict):
            yield from flatten(value, f"{name}_")
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value).strip()
            if text:
                yield name, text


def _dig(values: dict[str, Any], path: Sequence[str]) -> str | None:
    node: Any = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if node is None or isinstance(node, dict | list) else str(node)


def score(
    con: duckdb.DuckDBPyConnection, people: Sequence[Person], options: EngineOptions
) -> tuple[MatchPlan, dict[str, Any], list[Suggestion]]:
    """Train on the people and return the plan, the model and the scored pairs."""
    columns = sorted({c for p in people for c in p.traits})
    data: dict[str, list[str | None]] = {ID_COLUMN: [p.profile_id for p in people]}
    data |= {c: [p.traits.get(c) for p in people] for c in columns}
    accounts = [p.account for p in people]
    if any(accounts):
        data[ACCOUNT_COLUMN] = accounts
    con.register("people_arrow", pa.table(data))
    con.execute("create table raw_0 as select * from people_arrow").fetchall()
    con.unregister("people_arrow")
    plan = infer_plan(column_profiles(con, ["raw_0"], columns), ID_COLUMN)
    if any(accounts) and plan.roles:
        plan = with_account(plan)
    if not plan.roles:
        raise ValidationError("nothing to compare", [_no_traits(plan)])
    run, _ = build_run(con, ["raw_0"], ["t_0"], ID_COLUMN, plan, options, Overrides())
    with closing(run):
        predictions = run.local(run.predict())
        model = run.model()
        return plan, model, suggestions_of(con, predictions, model, ID_COLUMN)


def _no_traits(plan: MatchPlan) -> Problem:
    why = "; ".join(f"{c}: {r}" for c, r in plan.ignored) or "no traits at all"
    return Problem(
        "traits",
        f"no trait can be compared ({why}); send identify events with traits such as "
        "first_name, last_name, birthday and address.postal_code",
    )


def apply(
    conn: Connection,
    workspace_id: str,
    run_id: str,
    people: Sequence[Person],
    found: Sequence[Suggestion],
    auto: float,
    plan: MatchPlan | None = None,
) -> dict[str, int]:
    """Merge, queue or set aside each pair, best first; returns counts per outcome.

    Sure pairs are those at ``auto`` or above, and two profiles of a name one person bears
    within their account (``account.sole_names``). Pairs whose forenames differ, contacts
    of one account with two addresses at one mail domain, or pairs tying a record to two
    clearly different people (forenames or birth dates differ), are queued whatever their
    score. ``plan`` names the columns of each kind (none: no guard reads a column).
    """
    seen = _suggested_before(conn, workspace_id, {s.left_id for s in found})
    by_id = {p.profile_id: p for p in people}
    traits = {pid: p.traits for pid, p in by_id.items()}
    accounts = {pid: p.account for pid, p in by_id.items()}
    plan = plan or MatchPlan((), (), ())
    forenames, emails = plan.columns_of("forename"), plan.columns_of("email")
    sole = sole_names(traits, accounts, plan)
    pairs = [(s.left_id, s.right_id, s.probability) for s in found]
    sure = [(a, b) for a, b, p in pairs if p >= auto or one_bearer(a, b, sole)]
    doubtful = torn(sure, traits, forenames, plan.columns_of("date"), emails, accounts)
    decider = _Decider(
        conn, workspace_id, run_id, auto, by_id, (*forenames,), (*emails,), doubtful, sole
    )
    counts: dict[str, int] = {}
    rows = []
    for s in sorted(found, key=lambda s: (-s.probability, s.left_id, s.right_id)):
        if (s.left_id, s.right_id) in seen:
            counts["seen_before"] = counts.get("seen_before", 0) + 1
            continue
        row = decider.decide(s)
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        rows.append(row)
    if rows:
        conn.execute(identity_match_suggestions.insert(), rows)
    return counts


@dataclass(slots=True)
class _Decider:
    """Decides each pair of one run: merge, review, or implied by the run's earlier merges."""

    conn: Connection
    workspace_id: str
    run_id: str
    auto: float
    people: dict[str, Person]
    forenames: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    torn: set[str] = field(default_factory=set)
    sole: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: _Groups = field(init=False)

    def __post_init__(self) -> None:
        self.groups = _Groups(self.people.values())

    def decide(self, s: Suggestion) -> dict[str, Any]:
        """The suggestion's row, after merging or queueing the pair as its score says."""
        left, right = sorted((self.people[s.left_id], self.people[s.right_id]), key=_age)
        row = self._row(s, left, right)
        if self.groups.same(left.profile_id, right.profile_id):
            return row | {"outcome": "implied"}
        evidence = {"run_id": self.run_id, "suggestion_id": row["id"], **s.as_evidence()}
        accounts = self.groups.accounts(left.profile_id) | self.groups.accounts(right.profile_id)
        clash = forename_clash(left.traits, right.traits, self.forenames)
        colleagues = left.account is not None and left.account == right.account
        mailboxes = mailbox_clash(left.traits, right.traits, self.emails) if colleagues else []
        torn = sorted({left.profile_id, right.profile_id} & self.torn)
        sole = one_bearer(s.left_id, s.right_id, self.sole)
        if sole:
            evidence["sole_name_in_account"] = sole[0]
        sure = s.probability >= self.auto or sole
        if sure and len(accounts) < 2 and not (clash or mailboxes or torn):
            merge_id = self._merge(left, right, s, evidence)
            return row | {"outcome": "merged", "merge_id": merge_id}
        if len(accounts) > 1:
            evidence["accounts"] = sorted(accounts)
        if clash:
            evidence["forenames_differ"] = clash
        if mailboxes:
            evidence["mailboxes_differ"] = mailboxes
        if torn:
            evidence["fits_relatives"] = torn
        pair = [left.profile_id, right.profile_id]
        review_id = open_review(
            self.conn, self.workspace_id, "match", pair, evidence, score=s.probability
        )
        return row | {"outcome": "review", "review_id": review_id}

    def _merge(self, left: Person, right: Person, s: Suggestion, evidence: dict[str, Any]) -> str:
        merge_id = merge_profiles(
            self.conn,
            self.workspace_id,
            left.profile_id,
            right.profile_id,
            reason=f"batch match p={s.probability:.4f}",
            evidence=evidence,
            actor=f"matcher:{self.run_id}",
        )
        self.groups.join(left.profile_id, right.profile_id)
        return merge_id

    def _row(self, s: Suggestion, left: Person, right: Person) -> dict[str, Any]:
        return {
            "id": new_id("msug_"),
            "workspace_id": self.workspace_id,
            "run_id": self.run_id,
            "left_id": left.profile_id,
            "right_id": right.profile_id,
            "probability": s.probability,
            "match_weight": s.match_weight,
            "evidence": repo.dumps(s.evidence),
            "created_ms": repo.now_ms(),
            "merge_id": None,
            "review_id": None,
        }


def _age(p: Person) -> tuple[int, str]:
    return p.created_ms, p.profile_id


class _Groups:
    """Union-find over the profiles merged in this run, with each group's accounts.

    Profiles of different accounts never merge automatically, not even through a third
    profile without one.
    """

    def __init__(self, people: Iterable[Person]) -> None:
        self._parent: dict[str, str] = {}
        self._accounts = {p.profile_id: {p.account} for p in people if p.account}

    def find(self, key: str) -> str:
        parent = self._parent.get(key, key)
        if parent == key:
            return key
        root = self.find(parent)
        self._parent[key] = root
        return root

    def same(self, a: str, b: str) -> bool:
        return self.find(a) == self.find(b)

    def accounts(self, key: str) -> set[str]:
        return self._accounts.get(self.find(key), set())

    def join(self, a: str, b: str) -> None:
        root, other = self.find(a), self.find(b)
        self._parent[other] = root
        self._accounts[root] = self.accounts(root) | self._accounts.pop(other, set())


def _suggested_before(conn: Connection, workspace_id: str, ids: set[str]) -> set[tuple[str, str]]:
    """Pairs already suggested (either order) among pairs touching ``ids``."""
    t = identity_match_suggestions.c
    seen: set[tuple[str, str]] = set()
    for part in repo.chunks(sorted(ids)):
        rows = conn.execute(
            select(t.left_id, t.right_id).where(
                t.workspace_id == workspace_id, or_(t.left_id.in_(part), t.right_id.in_(part))
            )
        )
        for a, b in rows:
            seen |= {(str(a), str(b)), (str(b), str(a))}
    return seen


def plan_dict(plan: MatchPlan) -> dict[str, Any]:
    """The plan as JSON-ready data: compared columns with why, ignored ones, comparisons."""
    return {
        "compared": {r.column: {"kind": r.kind, "reason": r.reason} for r in plan.roles},
        "ignored": dict(plan.ignored),
        "comparisons": [
            {"name": c.name, "kind": c.kind, "columns": list(c.columns)} for c in plan.comparisons
        ],
    }
