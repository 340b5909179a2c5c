"""``crmos config show``: the effective settings, secrets masked, each with what it means."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from crmos.cli.common import console
from crmos.core.settings import Settings, load_settings, masked

app = typer.Typer(help="Configuration.", no_args_is_help=True)


@app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings (secrets masked) with what each one means."""
    settings = load_settings()
    data = masked(settings)
    if as_json:
        print(json.dumps(data, indent=2))  # noqa: T201 - machine-readable output
        return
    table = Table("setting", "value", "env variable", "meaning")
    for path, value, description in _walk(Settings, data):
        env = "CRMOS__" + path.upper().replace(".", "__")
        table.add_row(path, json.dumps(value), env, description)
    console.print(table)


def _walk(model: type, data: dict[str, object], prefix: str = "") -> list[tuple[str, object, str]]:
    from pydantic import BaseModel

    rows: list[tuple[str, object, str]] = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_walk(annotation, data[name], f"{prefix}{name}."))  # type: ignore[arg-type]
        else:
            rows.append((f"{prefix}{name}", data[name], info.description or ""))
    return rows
