"""Every `crmos` command the README and docs/ show names a real command with real options.

Parsed by the CLI's own parser (nothing runs, so it is quick): a command in a shell block must
parse whole; one named in running text (`crmos runs show`) must name a command that exists.
Example files (``renewal.yaml``) need not exist, and ``[--quick]`` is the usual notation for
an optional flag. tests/e2e/test_demo_tour.py runs the README's blocks for real.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer

from crmos.cli import app

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?:sh|bash|console|shell)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`(crmos [^`]+)`")
OPERATORS = set(";&|<>()")


def _split(line: str) -> Iterator[list[str]]:
    """The `crmos` commands of one shell line (split at ; & | && || > and comments)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split, lex.commenters = True, "#"
    words: list[str] = []
    for token in [*lex, ";"]:
        if token and set(token) <= OPERATORS:
            if words[:1] == ["crmos"]:
                yield words
            words = []
        else:
            words.append(token.strip("[]"))  # [--quick]: an optional flag, still checked


def commands(text: str) -> Iterator[tuple[str, list[str]]]:
    """("block" or "text", the command's words) for every `crmos` command on a page."""
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("crmos ") or " crmos " in line:
                for words in _split(line):
                    yield "block", words
    for span in INLINE.findall(text):
        for words in _split(span):
            yield "text", words


@cache
def _cli() -> Any:
    return typer.main.get_command(app)


def parse(words: list[str]) -> None:
    """Parse like the CLI, down to the last sub-command; raises the parser's usage error."""
    cmd: Any = _cli()
    ctx = cmd.make_context("crmos", words[1:])
    while hasattr(cmd, "resolve_command"):  # a group: descend into the named sub-command
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return
        name, cmd, remaining = cmd.resolve_command(ctx, rest)
        ctx = cmd.make_context(name, remaining, parent=ctx)


def _problem(kind: str, words: list[str]) -> str | None:
    try:
        parse(words)
    except Exception as exc:  # the CLI's (vendored) click raises its own error classes
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if "No such command" in message:
            return message
        if kind == "block" and "does not exist" not in message:  # example files may not
            return message
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_crmos_command_on_the_page_names_real_commands_and_options(page: Path) -> None:
    found = list(commands(page.read_text(encoding="utf-8")))
    problems = [
        f"{' '.join(words)}: {problem}"
        for kind, words in found
        if (problem := _problem(kind, words)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_a_misspelt_command_or_option_is_caught() -> None:
    assert _problem("block", ["crmos", "runs", "lst"]) is not None
    assert _problem("block", ["crmos", "runs", "list", "--bogus"]) is not None
    assert _problem("text", ["crmos", "runs", "show"]) is None  # named in running text
    assert _problem("block", ["crmos", "runs", "show"]) is not None  # a block must be whole
