"""Sub-commands imported only when they are called, so `crmos --help` and simple commands are quick.

Importing the rooms costs well over a second (SQLAlchemy, DBOS, Splink, scikit-learn ...), and
Typer builds every registered sub-app before it parses one argument. So the root group knows its
sub-commands from a table (name -> where the Typer app lives, and its one-line help) and imports
a module only when its command is resolved; `crmos --help` prints the table's help texts.

The pattern, for whoever adds a sub-app: one line in ``crmos.cli.main.SUBCOMMANDS``::

    "analytics": ("crmos.cli.analytics:app", "CLV and propensity models."),

The target is a Typer app, or a function returning one (for an app assembled from parts). An
app whose only command bears the sub-command's own name is that command (``crmos serve``); any
other app is a group, even with one command (``crmos audit verify``). The help text must be the
app's own first line; tests/e2e/test_cli_startup.py checks that, and that `crmos --help`
imports neither ``crmos.bootstrap`` nor a room.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

Subcommands = Mapping[str, tuple[str, str]]
"""Sub-command name -> ("package.module:attribute", one-line help)."""


class Placeholder(TyperCommand):
    """A sub-command not imported yet: its name and help are enough for a listing."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        super().__init__(name, help=help_text)
        self.target = target

    def load(self) -> Any:
        """Import the module and build the real command."""
        module, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        sub: typer.Typer = found if isinstance(found, typer.Typer) else found()
        names = [c.name for c in sub.registered_commands]
        if names == [self.name] and not sub.registered_groups and sub.registered_callback is None:
            return typer.main.get_command(sub)  # `crmos serve`: one command of its own name
        return typer.main.get_group(sub)  # `crmos audit verify`: a group, even of one command


class LazyGroup(TyperGroup):
    """A Typer group whose :attr:`subcommands` are imported when resolved (see the module)."""

    subcommands: ClassVar[Subcommands] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        for name, (target, help_text) in self.subcommands.items():
            self.commands.setdefault(name, Placeholder(name, target, help_text))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, imported now unless only its help is wanted."""
        command = self.commands.get(cmd_name)
        if isinstance(command, Placeholder) and not self._listing:
            command = self.commands[cmd_name] = command.load()
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The group's help from the placeholders' texts, importing nothing."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def lazy_group(subcommands: Subcommands) -> type[LazyGroup]:
    """A :class:`LazyGroup` class serving ``subcommands`` (pass it as ``typer.Typer(cls=...)``)."""
    return type("CrmosGroup", (LazyGroup,), {"subcommands": subcommands})
