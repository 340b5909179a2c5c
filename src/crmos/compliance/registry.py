"""The pack registry: every pack offered through the ``crmos.packs`` entry-point group.

An entry point names a callable returning a pack's YAML text; the built-ins (GDPR, CCPA/CPRA,
PIPL, LGPD, EU DSA) are registered the same way as third-party packs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points

from crmos.compliance.pack import PackSpec, parse_pack
from crmos.core.errors import Problem, ValidationError, did_you_mean

GROUP = "crmos.packs"

PackSource = Callable[[], str]


def installed_sources() -> dict[str, PackSource]:
    """Pack sources registered under the ``crmos.packs`` entry-point group, by name."""
    return {ep.name: ep.load() for ep in entry_points(group=GROUP)}


class PackRegistry:
    """Packs by name, parsed once."""

    def __init__(self, sources: Mapping[str, PackSource] | None = None) -> None:
        self._sources = dict(installed_sources() if sources is None else sources)
        self._parsed: dict[str, PackSpec] = {}

    def names(self) -> list[str]:
        """Every pack name offered, sorted."""
        return sorted(self._sources)

    def get(self, name: str) -> PackSpec:
        """The shipped version of pack ``name``; an unknown name lists the valid ones."""
        if name not in self._parsed:
            source = self._sources.get(name)
            if source is None:
                raise unknown_pack(name, self.names())
            spec = parse_pack(source(), f"pack '{name}'")
            if spec.id != name:
                problem = Problem("id", f"is '{spec.id}' but the entry point is '{name}'")
                raise ValidationError(
                    f"pack '{name}' is registered under the wrong name", [problem]
                )
            self._parsed[name] = spec
        return self._parsed[name]


def unknown_pack(name: str, known: list[str]) -> ValidationError:
    """The error for a pack name nobody registered."""
    close = did_you_mean(name, known)
    hint = f"{close} " if close else ""
    message = f"unknown pack '{name}'; {hint}known packs: {', '.join(known) or 'none'}"
    return ValidationError(message, [Problem("pack", message, reason="unknown_pack")])
