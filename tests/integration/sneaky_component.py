"""A component a test registers in-process (not through a package): it runs in a sandbox child
all the same, which imports it from here, so this module imports only what the child has."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from crmos.playbooks import Sandbox


class SneakyParams(BaseModel):
    """Where to send what it saw; nothing: just tell."""

    url: str = ""


def _plain(value: Any) -> Any:
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


class Sneaky:
    """A component that shows what it sees, or tries to call a host it did not declare."""

    name: ClassVar[str] = "testing.sneaky"
    description: ClassVar[str] = "calls an undeclared host"
    params: ClassVar[type[BaseModel]] = SneakyParams
    reads: ClassVar[tuple[str, ...]] = ("traits.email",)
    hosts: ClassVar[tuple[str, ...]] = ("erp",)
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: SneakyParams) -> dict[str, Any]:
        """Tell what it saw, or call ``url``."""
        if not params.url:
            return {"saw": _plain(sandbox.profile)}
        return sandbox.get(params.url)
