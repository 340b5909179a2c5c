"""Matching details learned on the demo world: the account as evidence, a name one person
bears within an account, EM on small data."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime

import pyarrow as pa

from crmos.demo import generate
from crmos.identity.matching.account import ACCOUNT_COLUMN, sole_names, with_account
from crmos.identity.matching.files import build_run
from crmos.identity.matching.frames import connect
from crmos.identity.matching.frames import profiles as column_profiles
from crmos.identity.matching.model import ColumnRole, MatchPlan, infer_plan
from crmos.identity.matching.overrides import Overrides
from crmos.identity.matching.splink import EngineOptions, SplinkRun
from crmos.identity.matching.store import ID_COLUMN, flatten


def test_the_account_is_compared_and_names_are_blocked_within_it() -> None:
    plan = MatchPlan(
        roles=(
            ColumnRole("first_name", "forename", "name"),
            ColumnRole("last_name", "surname", "name"),
            ColumnRole("birthday", "date", "name"),
        ),
        ignored=(),
        blocking=(),
    )
    out = with_account(plan)
    role = out.role(ACCOUNT_COLUMN)
    assert role is not None and role.kind == "category"
    assert [r.keys for r in out.blocking] == [
        (ACCOUNT_COLUMN, "first_name"),
        (ACCOUNT_COLUMN, "last_name"),
    ]
    assert ACCOUNT_COLUMN in {c.name for c in out.comparisons}


def _train(prior_matches: float) -> tuple[MatchPlan, SplinkRun]:
    """Train on the identify records of a demo world whose name session collapses."""
    world = generate(seed=10, now=datetime(2026, 11, 25, 16, tzinfo=UTC))
    records = [
        dict(flatten({k: v for k, v in e["traits"].items() if k not in ("email", "phone")}))
        for e in world.events
        if e["type"] == "identify" and e.get("traits")
    ]
    columns = sorted({c for r in records for c in r})
    data = {ID_COLUMN: [str(i) for i in range(len(records))]}
    data |= {c: [r.get(c) for r in records] for c in columns}
    options = EngineOptions(prior_matches=prior_matches)
    with closing(connect()) as con:
        con.register("records", pa.table(data))
        con.execute("create table raw_0 as select * from records").fetchall()
        plan = infer_plan(column_profiles(con, ["raw_0"], columns), ID_COLUMN)
        run, _ = build_run(con, ["raw_0"], ["t_0"], ID_COLUMN, plan, options, Overrides())
    return plan, run


def test_an_em_session_that_fails_leaves_every_comparison_in_the_model() -> None:
    # Without the prior on m (Splink's own estimate), EM blocked on this world's names drives
    # an m to zero; Splink had already taken the name comparison out of the model then.
    plan, run = _train(prior_matches=0.0)
    assert run.skipped_sessions, "the world changed: find an hour whose EM session fails"
    kept = [c["output_column_name"] for c in run.model()["comparisons"]]
    assert kept == [c.name for c in plan.comparisons]


def test_the_prior_on_m_lets_every_em_session_of_that_world_train() -> None:
    _, run = _train(prior_matches=1.0)
    assert run.skipped_sessions == []


CONTACTS = MatchPlan(
    roles=(
        ColumnRole("first_name", "forename", "name"),
        ColumnRole("last_name", "surname", "name"),
        ColumnRole("email", "email", "name"),
        ColumnRole("phone", "phone", "name"),
        ColumnRole("birthday", "date", "name"),
        ColumnRole("title", "category", "name"),
    ),
    ignored=(),
    blocking=(),
)
LEI = {"first_name": "Lei", "last_name": "Wu", "title": "Marketing Manager"}


def test_same_name_contacts_of_one_account_are_one_person_when_nothing_tells_them_apart() -> None:
    traits = {
        "a": LEI | {"email": "lei.wu@jinsui.cn", "birthday": "1988-09-20"},
        "b": {**LEI, "first_name": "LEI"},
        "c": LEI | {"phone": "+8618670536630", "birthday": "1988-20-09"},
        "d": {"first_name": "Lei", "last_name": "Li", "title": "CFO"},
    }
    sole = sole_names(traits, dict.fromkeys(traits, "acme"), CONTACTS)
    assert sole == dict.fromkeys("abc", ("acme", "lei", "wu"))


def test_a_different_mailbox_phone_title_or_birthday_makes_a_name_shared_in_the_account() -> None:
    for other in (
        {"email": "lei.wu1@jinsui.cn"},
        {"email": "wu.lei@gmail.com"},
        {"phone": "+8613900000000"},
        {"title": "CFO"},
        {"birthday": "1990-01-01"},
    ):
        first = {"email": "lei.wu@jinsui.cn", "phone": "+8618670536630", "birthday": "1988-09-20"}
        traits = {"a": LEI | first, "b": LEI | other, "c": dict(LEI)}
        # c fits either colleague: the whole name is left to the model's score.
        assert sole_names(traits, dict.fromkeys(traits, "acme"), CONTACTS) == {}, other


def test_the_same_name_at_different_accounts_or_without_an_account_is_not_one_person() -> None:
    traits = {"a": dict(LEI), "b": dict(LEI), "c": dict(LEI), "d": {"first_name": "Lei"}}
    accounts = {"a": "acme", "b": "globex", "c": None, "d": "acme"}
    assert sole_names(traits, accounts, CONTACTS) == {}
