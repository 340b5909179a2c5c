"""What every command shares: building the container, finding a workspace, exit codes."""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from crmos.core.errors import (
    AuthError,
    ConfigError,
    Conflict,
    CrmosError,
    NotFound,
    StoreError,
    ValidationError,
)

if TYPE_CHECKING:  # imported when a command runs: `crmos --help` must not load the rooms
    from sqlalchemy import Engine

    from crmos.bootstrap import Container
    from crmos.core.settings import Settings
    from crmos.store import Workspace, WorkspaceStore

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
    from crmos.bootstrap import build
    from crmos.core.settings import load_settings

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
def store_engine(settings: Settings | None = None) -> Iterator[Engine | None]:
    """The store alone, without building the rooms, for quick commands (`crmos workspace
    list`); ``None`` when the store was never migrated (it holds nothing then)."""
    from crmos.core.settings import load_settings
    from crmos.store import create_store_engine, current_revision

    with exit_on_error():
        engine = create_store_engine((settings or load_settings()).store)
        try:
            yield engine if current_revision(engine) else None
        finally:
            engine.dispose()


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
    return pick_workspace(c.workspaces, name)


def pick_workspace(store: WorkspaceStore, name: str | None) -> Workspace:
    """The workspace called ``name`` in ``store``; without a name, the only one there is (else
    an error naming the choices)."""
    if name:
        ws = store.by_name(name)
        if ws is None:
            raise NotFound("workspace", name)
        return ws
    spaces = store.list()
    if len(spaces) != 1:
        names = ", ".join(w.name for w in spaces) or "none yet; run `crmos workspace create NAME`"
        raise ValidationError(f"name a workspace with --workspace (there are: {names})")
    return spaces[0]


def print_table(table: Table, ids: Collection[str] = ("id",)) -> None:
    """Print ``table`` with every id whole, also when piped (Rich then assumes 80 columns).

    The columns headed by a name in ``ids`` never wrap; the others wrap (never "…"). When the
    ids alone need more than the console's width, the table is printed wider than it, as a
    terminal soft-wraps lines but a cut id is useless to copy.
    """
    needed = 1
    for index, column in enumerate(table.columns):
        if str(column.header) in ids:
            column.no_wrap = True
            widest = max((cell_len(str(cell)) for cell in column.cells), default=0)
            column.min_width = max(widest, cell_len(str(column.header)))
            needed += column.min_width + table._get_padding_width(index) + 1
        else:
            column.overflow = "fold"
            needed += _OTHER_MIN + table._get_padding_width(index) + 1
    if needed <= console.width:
        console.print(table)
        return
    # Console.print never renders wider than the console: widen the console for this table.
    saved = console._width
    console.width = needed
    try:
        console.print(table, crop=False)
    finally:
        console._width = saved


_OTHER_MIN = 10
"""Columns a wrapped column keeps at least, so a table of long ids stays readable."""


def when(ms: int | None) -> str:
    """A stored time (ms since the epoch) as a date and time in UTC, as tables print them."""
    from datetime import UTC, datetime

    return "-" if ms is None else f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"
