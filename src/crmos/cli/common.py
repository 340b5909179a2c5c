"""What every command shares: building the container, finding a workspace, exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from crmos.bootstrap import Container, build
from crmos.core.errors import (
    AuthError,
    ConfigError,
    Conflict,
    CrmosError,
    NotFound,
    StoreError,
    ValidationError,
)
from crmos.core.settings import load_settings
from crmos.store import Workspace

console = Console()
err_console = Console(stderr=True)

# Exit codes per error class (most specific first), like click's UsageError = 2.
EXIT_CODES: list[tuple[type[CrmosError], int]] = [
    (ValidationError, 65),  # EX_DATAERR
    (NotFound, 66),  # EX_NOINPUT
    (Conflict, 73),  # EX_CANTCREAT
    (AuthError, 77),  # EX_NOPERM
    (ConfigError, 78),  # EX_CONFIG
    (StoreError, 74),  # EX_IOERR
    (CrmosError, 1),
]


@contextmanager
def container(migrate: bool = True, stream: dict[str, Any] | None = None) -> Iterator[Container]:
    """A container for one command; crmos errors become a message and an exit code.

    ``stream``: changes to the stream settings (``serve --role``, ``worker --partitioned``)."""
    built: Container | None = None
    try:
        with exit_on_error():
            settings = None
            if stream:
                settings = load_settings()
                settings.stream = settings.stream.model_copy(update=stream)
            built = build(settings, migrate_store=migrate)
            yield built
    finally:
        if built is not None:
            built.close()


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Crmos errors raised inside become a message on stderr and the exit code of their class."""
    try:
        yield
    except CrmosError as exc:
        err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        for problem in getattr(exc, "problems", [])[:20]:
            err_console.print(f"  {problem.path}: {problem.message}", highlight=False)
        sys.exit(next(code for cls, code in EXIT_CODES if isinstance(exc, cls)))


def find_workspace(c: Container, name: str | None) -> Workspace:
    """The workspace called ``name``; without a name, the only one there is."""
    if name:
        ws = c.workspaces.by_name(name)
        if ws is None:
            raise NotFound("workspace", name)
        return ws
    spaces = c.workspaces.list()
    if len(spaces) != 1:
        names = ", ".join(w.name for w in spaces) or "none yet; run `crmos workspace create NAME`"
        raise ValidationError(f"name a workspace with --workspace (there are: {names})")
    return spaces[0]
