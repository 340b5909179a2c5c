"""Vetting a wheel before it is installed: what the package declares must not exceed what its
signed catalog entry declares (the fields it reads, the hosts it may call, its resource limits).

The catalog entry is what reviewers and the app-store line show; the package's declarations
are what the sandbox enforces. A package that asks for more than its entry (a rebuilt wheel,
a publisher's slip) would run with permissions nobody was shown, so it is refused. The wheel
is unpacked into a throw-away folder and described by a sandbox child, as an installed
package is (its code never runs in this process); only when it passes is it installed for
real, so a refused wheel leaves nothing behind.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from crmos.core.errors import Problem, ValidationError
from crmos.playbooks.catalog import Entry, declared_points
from crmos.playbooks.described import Described, describe_in_sandbox
from crmos.playbooks.sandbox_pool import search_path
from crmos.playbooks.sandbox_zygote import Zygote

LIMITS = ("timeout_s", "cpu_s", "memory_mb")


def vet(entry: Entry, wheel: Path, index: int) -> Described:
    """The package's own description of ``entry``'s component, read from ``wheel`` staged in
    a throw-away folder; :class:`ValidationError` if it declares more than ``entry``."""
    ref = declared_points(wheel.read_bytes())[entry.name]
    with tempfile.TemporaryDirectory(prefix="crmos-vet-") as staging:
        # Unpacked, not pip-installed: importing the entry point needs only the files (a
        # wheel is a zip of its install tree), and a second pip process costs seconds.
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(staging)  # zipfile drops absolute paths and '..' parts
        zygote = Zygote(search_path())
        try:
            described = describe_in_sandbox(ref, zygote, path=(staging,))
        finally:
            zygote.close()
    problems = beyond(entry, described, index)
    if problems:
        raise ValidationError(
            f"component '{entry.name}' {entry.version} refused: the package declares more "
            "than its catalog entry",
            problems,
        )
    return described


def beyond(entry: Entry, described: Described, index: int) -> list[Problem]:
    """Each field, host or limit the package declares that its catalog entry does not cover."""
    at = f"index.components[{index}]"
    listed = ", ".join(entry.reads) or "nothing"
    problems = [
        Problem(
            f"{at}.reads",
            f"the package reads {field}, which its catalog entry does not declare (the entry "
            f"reads: {listed}); nobody reviewed that access: ask the publisher for a "
            "catalog entry that declares it, or a package that does not read it",
            reason="undeclared_field",
        )
        for field in described.reads
        if not _covered(field, entry.reads)
    ]
    hosts = ", ".join(entry.hosts) or "nothing"
    problems += [
        Problem(
            f"{at}.hosts",
            f"the package may call {host}, which its catalog entry does not declare (the "
            f"entry may call: {hosts}); nobody reviewed that host: ask the publisher",
            reason="undeclared_host",
        )
        for host in described.hosts
        if host.lower() not in {h.lower() for h in entry.hosts}
    ]
    own, catalogued = described.limits.as_dict(), entry.limits.model_dump()
    problems += [
        Problem(
            f"{at}.limits.{name}",
            f"the package runs with {name} {own[name]} (its declared limit, or crmos's "
            f"default when it declares none), more than its catalog entry's "
            f"{catalogued[name]}; ask the publisher",
            reason="limit_exceeded",
        )
        for name in LIMITS
        if own[name] > catalogued[name]
    ]
    return problems


def _covered(field: str, reads: list[str]) -> bool:
    """Whether a catalog entry's fields cover ``field`` (itself, or a field it lies inside)."""
    return field == "id" or any(field == r or field.startswith(r + ".") for r in reads)
