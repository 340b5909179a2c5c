"""``crmos db``: the store's schema, backups and restores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from crmos.cli.common import console, container, exit_on_error
from crmos.core.errors import NotFound
from crmos.core.settings import Settings, load_settings
from crmos.store import create_store_engine, current_revision, sqlite_path
from crmos.store.backup import backup, restore

app = typer.Typer(help="The store: schema, backups, restores.", no_args_is_help=True)

FolderArg = Annotated[Path, typer.Argument(help="Backup folder.", file_okay=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ACTOR = "crmos db restore"


@app.command("migrate")
def db_migrate() -> None:
    """Bring the store's schema up to date."""
    with container(migrate=True) as c:
        console.print(f"store at revision {current_revision(c.engine)} ({c.engine.dialect.name})")


@app.command("backup")
def db_backup(folder: FolderArg, as_json: JsonOpt = False) -> None:
    """Back the store up into a new folder while crmos runs (SQLite's online backup API, or
    pg_dump). The master key is not included: keep it apart."""
    with exit_on_error():
        settings = load_settings()
        engine = create_store_engine(settings.store)
        try:
            manifest = backup(engine, folder, _extra(settings))
        finally:
            engine.dispose()
    if as_json:
        console.print_json(json.dumps(manifest))
    else:
        files = manifest["files"]
        assert isinstance(files, list)
        console.print(f"backed up {', '.join(files)} into {folder}")


@app.command("restore")
def db_restore(folder: FolderArg, as_json: JsonOpt = False) -> None:
    """Replace the store with a backup. Refused while `crmos serve` (or any other process)
    uses it. Erasures made since the backup are kept: the destroyed data keys are destroyed
    again and the erased profiles are erased again from the restored rows."""
    with exit_on_error():
        settings = load_settings()
        engine = create_store_engine(settings.store)
        try:
            done = restore(engine, folder, _extra(settings))
        finally:
            engine.dispose()
    again = _erase_again(done.erased_profiles)
    summary = {
        "revision": done.revision,
        "keys_destroyed_again": done.reshredded,
        "profiles_erased_again": again,
    }
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        console.print(
            f"restored {folder} (revision {done.revision}); {done.reshredded} data keys and "
            f"{len(again)} profiles erased since the backup were erased again"
        )


def _extra(settings: Settings) -> dict[str, Path]:
    """The saga engine's own SQLite database, when it has one (embedded store)."""
    from crmos.sagas import system_database_url

    path = sqlite_path(system_database_url(settings))
    if path is None:
        return {}  # PostgreSQL: schema dbos of the same database, inside pg_dump's archive
    return {"dbos": path.resolve()}


def _erase_again(erased: tuple[tuple[str, str], ...]) -> list[str]:
    """Run an erasure for each profile erased in the replaced store that the backup holds."""
    again: list[str] = []
    with container(migrate=True) as c:  # an older backup is brought up to date first
        dsr = c.compliance.dsr
        for workspace_id, profile_id in erased:
            try:
                request = dsr.receive(
                    workspace_id, "erasure", ("profile_id", profile_id), "cli", ACTOR
                )
            except NotFound:
                continue  # the backup holds nothing of this person
            dsr.run(workspace_id, request.id, ACTOR)
            again.append(profile_id)
    return again
