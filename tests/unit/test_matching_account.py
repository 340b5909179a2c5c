"""Matching details learned on the demo world: the account as evidence, EM sessions that fail."""

from __future__ import annotations

from contextlib import closing

import pyarrow as pa

from crmos.demo import generate
from crmos.identity.matching import build_run
from crmos.identity.matching_account import ACCOUNT_COLUMN, with_account
from crmos.identity.matching_frames import connect
from crmos.identity.matching_frames import profiles as column_profiles
from crmos.identity.matching_model import ColumnRole, MatchPlan, infer_plan
from crmos.identity.matching_overrides import Overrides
from crmos.identity.matching_splink import EngineOptions
from crmos.identity.matching_store import ID_COLUMN, flatten


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


def test_an_em_session_that_fails_leaves_every_comparison_in_the_model() -> None:
    # On this world's identify records EM blocked on the names collapses (an m of zero);
    # Splink had already taken the name comparison out of the model for that session.
    world = generate(seed=10)
    records = [
        dict(flatten({k: v for k, v in e["traits"].items() if k not in ("email", "phone")}))
        for e in world.events
        if e["type"] == "identify" and e.get("traits")
    ]
    columns = sorted({c for r in records for c in r})
    data = {ID_COLUMN: [str(i) for i in range(len(records))]}
    data |= {c: [r.get(c) for r in records] for c in columns}
    with closing(connect()) as con:
        con.register("records", pa.table(data))
        con.execute("create table raw_0 as select * from records").fetchall()
        plan = infer_plan(column_profiles(con, ["raw_0"], columns), ID_COLUMN)
        run, _ = build_run(con, ["raw_0"], ["t_0"], ID_COLUMN, plan, EngineOptions(), Overrides())
        model = run.model()
    assert run.skipped_sessions, "the world changed: find a seed whose EM session fails"
    kept = [c["output_column_name"] for c in model["comparisons"]]
    assert kept == [c.name for c in plan.comparisons]
