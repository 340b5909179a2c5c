"""Joints between rooms that needed a column: saga runs found by origin, and migration 0016,
which numbers past merges and splits, converts graph's time cursor and backfills run origins."""

from __future__ import annotations

import orjson
from sqlalchemy import inspect, select

from crmos.bootstrap import Container
from crmos.core.settings import Settings
from crmos.identity import ProfilesMerged, ProfileSplit, changes_since
from crmos.sagas.testing import HttpEffect
from crmos.store import create_store_engine, migrate
from crmos.store.migrate import downgrade
from crmos.store.tables_graph import graph_cursors
from crmos.store.tables_identity import identity_merges
from crmos.store.tables_sagas import saga_runs

ACTION = "testing.http_effect"


def test_a_run_is_found_by_the_origin_it_was_started_with(container: Container) -> None:
    if ACTION not in container.runs.registry:
        container.runs.registry.add(HttpEffect())
    ws = container.workspaces.create("acme")[0].id
    step = {"id": "one", "action": ACTION, "with": {"url": "http://127.0.0.1:9", "effect": "x"}}
    run = container.runs.start(ws, {"name": "n", "steps": [step]}, origin="dec_1")
    container.runs.start(ws, {"name": "n", "steps": [step]})  # no origin
    found = container.runs.by_origin(ws, "dec_1")
    assert found is not None and (found.id, found.created_ms) == (run.id, run.created_ms)
    assert container.runs.by_origin(ws, "dec_2") is None
    other = container.workspaces.create("other")[0].id
    assert container.runs.by_origin(other, "dec_1") is None


def _merge(mid: str, created: int, split: int | None) -> dict[str, object]:
    return {"id": mid, "workspace_id": "w", "survivor_id": f"s{mid}", "other_id": f"o{mid}"} | {
        "reason": "r", "evidence": "{}", "actor": "a", "created_ms": created, "split_ms": split,
    }  # fmt: skip


def _run(rid: str, name: str, decision: str | None) -> dict[str, object]:
    plan = {"name": name, "steps": [], "input": {"decision_id": decision} if decision else {}}
    return {"id": rid, "workspace_id": "w", "name": name, "status": "queued"} | {
        "plan": orjson.dumps(plan).decode(), "trace_id": "t", "parent_span_id": "p",
        "created_ms": 1,
    }  # fmt: skip


def test_upgrading_numbers_past_merges_in_time_order_and_keeps_graphs_place(
    settings: Settings,
) -> None:
    engine = create_store_engine(settings.store)
    try:
        migrate(engine, "0015")
        with engine.begin() as conn:
            # m1 at 1000 (split at 9000), m2 at 5000, m3 at 8500; graph's cursor stood at 8000:
            # with the old 2-second slack only what is older than 6000 was surely applied.
            conn.execute(
                identity_merges.insert(),
                [_merge("m2", 5000, None), _merge("m1", 1000, 9000), _merge("m3", 8500, None)],
            )
            cursor = {"workspace_id": "w", "name": "merges", "value": 8000}
            conn.execute(graph_cursors.insert().values(cursor))
            conn.execute(
                saga_runs.insert(),
                [_run("r1", "playbook:p@abc", "dec_1"), _run("r2", "other", None)],
            )
        migrate(engine)
        with engine.connect() as conn:
            facts = changes_since(conn, "w", 0)
            cursors = dict(conn.execute(select(graph_cursors.c.name, graph_cursors.c.value)).all())
            origins = dict(conn.execute(select(saga_runs.c.id, saga_runs.c.origin)).all())
        kinds = [(type(f), f.merge_id) for f in facts]
        assert kinds == [
            (ProfilesMerged, "m1"), (ProfilesMerged, "m2"), (ProfilesMerged, "m3"),
            (ProfileSplit, "m1"),
        ]  # fmt: skip
        assert cursors == {"identity_changes": facts[1].seq}
        assert origins == {"r1": "dec_1", "r2": None}

        downgrade(engine, "0015")
        with engine.connect() as conn:
            cursors = dict(conn.execute(select(graph_cursors.c.name, graph_cursors.c.value)).all())
            tables = inspect(conn).get_table_names()
            columns = {c["name"] for c in inspect(conn).get_columns("saga_runs")}
        assert cursors == {"merges": 5000}
        assert "identity_changes" not in tables and "origin" not in columns
        migrate(engine)  # and up again
    finally:
        engine.dispose()
