"""The ceiling of ``crmos bench sagas``: DBOS alone, four no-op steps per workflow.

Same system database settings (SQLite, WAL, ``synchronous=NORMAL``), the same queue polling and
per-process concurrency as the engine, in this process (which runs no engine of its own).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions, WorkflowHandle

from crmos.store.engine import checkpoint_engine

QUEUE = "crmos_bench_bare"
STEPS = 4


def _noop(i: int) -> int:
    return i


@DBOS.workflow(name="crmos.bench.bare")
def bare(n: int) -> int:
    """Four checkpointed steps that do nothing."""
    total = 0
    for i in range(STEPS):
        total += DBOS.run_step({"name": f"s{i}"}, _noop, i)
    return total + n


def bare_runs_per_s(runs: int, concurrency: int, poll_s: float = 0.05) -> float:
    """Workflows/s of DBOS alone: ``runs`` queued at once, ``concurrency`` at a time."""
    with tempfile.TemporaryDirectory(prefix="crmos-bench-dbos-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'dbos.sqlite'}"
        engine = checkpoint_engine(url, concurrency + 8)
        config: DBOSConfig = {
            "name": "crmos-bench",
            "system_database_engine": engine,
            "application_version": "bench",
            "log_level": "WARNING",
        }
        DBOS(config=config)
        try:
            DBOS.launch()
            DBOS.register_queue(QUEUE, worker_concurrency=concurrency, polling_interval_sec=poll_s)
            client = DBOSClient(system_database_engine=engine, application_name="crmos-bench")
            _wait(client, [_enqueue(client, -1 - i) for i in range(concurrency)])  # warm-up
            started = time.perf_counter()
            _wait(client, [_enqueue(client, i) for i in range(runs)])
            elapsed = time.perf_counter() - started
            client.destroy()
        finally:
            DBOS.destroy(destroy_registry=False)
            engine.dispose()
    return runs / elapsed


def _enqueue(client: DBOSClient, i: int) -> str:
    options: EnqueueOptions = {
        "workflow_name": "crmos.bench.bare",
        "queue_name": QUEUE,
        "app_version": "bench",
    }
    handle: WorkflowHandle[int] = client.enqueue(options, i)
    return str(handle.get_workflow_id())


def _wait(client: DBOSClient, ids: list[str]) -> None:
    for workflow_id in ids:
        client.retrieve_workflow(workflow_id).get_result(polling_interval_sec=0.01)
