"""CLI: the Typer app ``crmos`` with one sub-app per noun. Sits on top: may import any room."""

from crmos.cli.main import app, main

__all__ = ["app", "main"]
