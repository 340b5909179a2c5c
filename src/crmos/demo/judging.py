"""What a scenario check reads (:class:`Seen`) and what it answers (:class:`Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from crmos.bootstrap import Container
from crmos.demo.cast import profile_for
from crmos.sagas import RunInfo


@dataclass(frozen=True, slots=True)
class Outcome:
    """One scenario as the state shows it."""

    number: int
    name: str
    happened: str
    where: list[str]
    ok: bool
    reason: str = ""
    console: str = ""
    """The console page that shows it, as a full address (empty when there is none yet)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        status = "ok" if self.ok else "failed"
        return {
            "number": self.number,
            "name": self.name,
            "status": status,
            "happened": self.happened,
            "reason": self.reason,
            "where": self.where,
            "console": self.console,
        }


@dataclass(slots=True)
class Seen:
    """What every check may read: the container, the workspace, the cast and the sinks."""

    c: Container
    workspace_id: str
    workspace_name: str
    base: str
    folder: Path
    cast: dict[str, list[dict[str, Any]]]
    runs: list[RunInfo]
    outbox: list[dict[str, Any]] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)

    def marked(self, number: int, kind: str | None = None, name: str | None = None) -> list[Any]:
        """The cast's events of a scenario (of one type, one track event name)."""
        return [
            e
            for e in self.cast.get(str(number), [])
            if (kind is None or e["type"] == kind) and (name is None or e["event"] == name)
        ]

    def cli(self, command: str) -> str:
        """A command line that shows it, runnable as written against the demo's home."""
        return f"crmos {command} --workspace {self.workspace_name}"

    def api(self, path: str) -> str:
        """An API address on the demo server."""
        return f"{self.base}{path}"

    def page(self, path: str) -> str:
        """A console page on the demo server (``/profiles/{id}``, ``/runs/{id}`` ...)."""
        return f"{self.base}{path}"

    def profile(self, conn: Connection, entry: dict[str, Any]) -> str | None:
        """The live profile of a cast event."""
        return profile_for(conn, self.workspace_id, entry)


def failed(
    number: int, name: str, happened: str, where: list[str], reason: str, console: str = ""
) -> Outcome:
    """A failed scenario (``console``: the page that shows what there is to see)."""
    return Outcome(number, name, happened, where, False, reason, console)
