"""The ``crmos`` command line."""

from __future__ import annotations

import typer

from crmos.cli.lazy import lazy_group

# Every sub-app, imported only when its command runs (crmos.cli.lazy explains why and how):
# name -> ("module:attribute" of its Typer app or of a function returning one, its help).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("crmos.cli.serve:app", "Migrate the store, then serve the API and dashboard."),
    "ingest": (
        "crmos.cli.ingest:app",
        "Bulk-import events through the same validation as the HTTP intake.",
    ),
    "workspace": ("crmos.cli.workspace:app", "Workspaces and their API keys."),
    "config": ("crmos.cli.config:app", "Configuration."),
    "worker": (
        "crmos.cli.main:worker_app",
        "Execute runs (scale-out): resumes this worker's interrupted runs, then takes new ones.",
    ),
    "db": ("crmos.cli.db:app", "The store: schema, backups, restores."),
    "events": ("crmos.cli.events:app", "The event log."),
    "tiers": ("crmos.cli.tiers:app", "Hot SQL, warm and cold Parquet tiers of the event log."),
    "graph": ("crmos.cli.graph:app", "The customer graph."),
    "analytics": ("crmos.cli.analytics:app", "Lifetime value and propensity models."),
    "bench": (
        "crmos.cli.bench:app",
        "Benchmarks (print figures; --json for machine-readable output).",
    ),
    "identity": (
        "crmos.cli.main:identity_app",
        "Identity: profiles, merges, splits, review queue.",
    ),
    "profiles": ("crmos.cli.profiles:app", "Profiles: list, search, reindex."),
    "accounts": ("crmos.cli.accounts:app", "Accounts: list, search, show with their people."),
    "sim": (
        "crmos.cli.sim:app",
        "Reference ERP, MES and SCM simulators (idempotent writes, failure injection).",
    ),
    "runs": ("crmos.cli.runs:app", "Runs of sagas: start, follow, retry, cancel."),
    "compliance": ("crmos.cli.compliance:app", "Compliance packs, settings, consent, complaints."),
    "dsr": ("crmos.cli.dsr:app", "Data-subject requests: access, erasure, rectification, opt-out."),
    "audit": ("crmos.cli.audit:app", "The tamper-evident audit chain."),
    "interactions": (
        "crmos.cli.interactions:app",
        "Interactions: e-mails, transcripts, screenshots, PDFs.",
    ),
    "knowledge": ("crmos.cli.knowledge:app", "The knowledge base behind recommendations."),
    "decisions": (
        "crmos.cli.decisions:app",
        "Decision records: every automated choice, explained.",
    ),
    "playbooks": (
        "crmos.cli.playbooks:app",
        "Playbooks: validate, publish, show, diff, roll back, dry-run.",
    ),
    "components": (
        "crmos.cli.components:app",
        "The component marketplace: search the signed catalog, install, review, remove.",
    ),
    "status": (
        "crmos.cli.main:status_app",
        "Consumer lag (per partition on a partitioned stream), leases and workers.",
    ),
    "demo": (
        "crmos.cli.demo:app",
        "The demo world: every scenario of the design, acted out and checked.",
    ),
}

app = typer.Typer(
    name="crmos",
    help="crmos: a real-time, explainable customer operating system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=lazy_group(SUBCOMMANDS),
)


@app.callback()
def root() -> None:
    """crmos: a real-time, explainable customer operating system."""
    # Typer builds a group only for an app with a callback or registered commands, and every
    # command here is registered lazily (SUBCOMMANDS).


def identity_app() -> typer.Typer:
    """``crmos identity`` with the batch-matching commands (match, dedupe, link) added."""
    from crmos.cli import identity, identity_match

    if "match" not in {c.name for c in identity.app.registered_commands}:
        identity_match.register(identity.app)
    return identity.app


def worker_app() -> typer.Typer:
    """``crmos worker``: one command, kept in the runs room's CLI."""
    from crmos.cli import runs

    single = typer.Typer()
    single.command("worker")(runs.worker)
    return single


def status_app() -> typer.Typer:
    """``crmos status``: one command, kept in its own module."""
    from crmos.cli import status

    single = typer.Typer()
    single.command("status")(status.status)
    return single


def main() -> None:
    """Entry point of the ``crmos`` script."""
    app()
