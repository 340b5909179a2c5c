"""``crmos sim erp|mes|scm``: run a reference simulator with failure injection."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from crmos.cli.common import console

app = typer.Typer(
    help="Reference ERP, MES and SCM simulators (idempotent writes, failure injection).",
    no_args_is_help=True,
)

Host = Annotated[str, typer.Option(help="Interface to listen on.", envvar="CRMOS_SIM_HOST")]
Port = Annotated[
    int | None, typer.Option(help="Port (default: 8101 erp, 8102 mes, 8103 scm; 0: any free).")
]
ErrorRate = Annotated[
    float,
    typer.Option(
        min=0.0,
        max=1.0,
        envvar="CRMOS_SIM_ERROR_RATE",
        help="Share of requests failed before any side effect (503 or 422).",
    ),
]
PermanentShare = Annotated[
    float,
    typer.Option(
        min=0.0,
        max=1.0,
        envvar="CRMOS_SIM_PERMANENT_SHARE",
        help="Share of injected errors that are permanent (422); the rest are 503.",
    ),
]
Latency = Annotated[
    float, typer.Option(min=0.0, envvar="CRMOS_SIM_LATENCY_MS", help="Added latency per request.")
]
CrashAfter = Annotated[
    int,
    typer.Option(
        min=0,
        envvar="CRMOS_SIM_CRASH_AFTER",
        help="Exit (status 70) after committing the N-th request, before answering it; 0: never.",
    ),
]
State = Annotated[
    Path | None,
    typer.Option(
        envvar="CRMOS_SIM_STATE", help="SQLite file kept across restarts (default: memory)."
    ),
]
Seed = Annotated[int | None, typer.Option(envvar="CRMOS_SIM_SEED", help="Random seed of faults.")]
Token = Annotated[
    str | None,
    typer.Option(envvar="CRMOS_SIM_TOKEN", help="Require Authorization: Bearer TOKEN."),
]


def _serve(
    kind: str,
    host: str,
    port: int | None,
    error_rate: float,
    permanent_share: float,
    latency_ms: float,
    crash_after: int,
    state: Path | None,
    seed: int | None,
    token: str | None,
) -> None:
    from crmos.connectors.sim import DOMAINS, Faults, Simulator

    faults = Faults(error_rate, permanent_share, latency_ms, crash_after, seed)
    bind = DOMAINS[kind].default_port if port is None else port
    sim = Simulator(
        kind, host=host, port=bind, faults=faults, state=state, token=token, exit_on_crash=True
    )
    # The first line names the URL, so a script that asked for port 0 can read it.
    print(f"crmos sim {kind} on {sim.url}", flush=True)  # noqa: T201 - machine-readable
    shown = ", ".join(f"{k}={v:g}" for k, v in asdict(faults).items() if isinstance(v, float | int))
    console.print(f"[dim]stats: {sim.url}/_sim/stats · faults: {shown}[/]", highlight=False)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def _command(kind: str, summary: str) -> None:
    def command(
        host: Host = "127.0.0.1",
        port: Port = None,
        error_rate: ErrorRate = 0.0,
        permanent_share: PermanentShare = 1 / 3,
        latency_ms: Latency = 0.0,
        crash_after: CrashAfter = 0,
        state: State = None,
        seed: Seed = None,
        token: Token = None,
    ) -> None:
        _serve(
            kind,
            host,
            port,
            error_rate,
            permanent_share,
            latency_ms,
            crash_after,
            state,
            seed,
            token,
        )

    command.__doc__ = summary
    app.command(kind)(command)


_command("erp", "Reference ERP: contracts, credit check with per-customer limits, holds.")
_command("mes", "Reference MES: line capacity, device alarm logs, firmware-batch defects.")
_command("scm", "Reference SCM: material stock, locks and unlocks.")
_command("servicedesk", "Reference service desk: repair tickets, known defects, engineers sent.")
