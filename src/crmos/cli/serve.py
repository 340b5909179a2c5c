"""``crmos serve``: the API and the console in one process (the intake writer and workers too).

When the store holds the demo world (a workspace named ``demo``, made by ``crmos demo``), the
console's start page lists its twelve scenarios for that workspace, as under ``crmos demo``.
"""

from __future__ import annotations

import gc
import sys
from enum import StrEnum
from typing import Annotated

import typer

from crmos.cli.common import console, container

app = typer.Typer()


class Role(StrEnum):
    """What a ``crmos serve`` process runs."""

    all = "all"
    api = "api"
    worker = "worker"


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port).")] = None,
    role: Annotated[
        Role,
        typer.Option(
            help="all: everything in one process; api: intake and console, no consumers; "
            "worker: lease stream partitions, run consumers and runs, no HTTP. api and worker "
            "partition the stream (PostgreSQL)."
        ),
    ] = Role.all,
) -> None:
    """Migrate the store, then serve the API and dashboard."""
    if role is Role.worker:
        from crmos.cli.runs import worker

        worker(executor_id=None, concurrency=None, partitioned=True)
        return
    run_server(host, port, role.value)


def run_server(host: str | None, port: int | None, role: str = "all") -> None:
    """Serve until interrupted (the store is migrated first)."""
    import uvicorn

    from crmos.cli.demo import attach_demo
    from crmos.web import create_app

    stream = {"partitioned": True, "role": role} if role != "all" else None
    with container(migrate=True, stream=stream) as c:
        bind_host = host or c.settings.server.host
        bind_port = port or c.settings.server.port
        console.print(f"crmos serving on [bold]http://{bind_host}:{bind_port}[/]")
        api = create_app(c)
        attach_demo(api, c)
        _tune_interpreter()
        uvicorn.run(api, host=bind_host, port=bind_port, log_level="warning", access_log=False)


# How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms).
# The intake writer thread gives the GIL up for every row SQLite inserts and for every commit;
# with the default it then waits up to 5 ms each time for the event loop thread, which is
# busy decoding the next requests, so a group of a few hundred events took seconds to write.
_SWITCH_INTERVAL_S = 0.0002


def _tune_interpreter() -> None:
    """Process-wide settings for a long-running server (not for the library's callers)."""
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    # Everything built at start-up (modules, the app, SQLAlchemy's caches) lives as long as the
    # process: keep it out of the garbage collector's full passes over the heap.
    gc.collect()
    gc.freeze()
