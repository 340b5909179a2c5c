"""The built-in packs, registered through the ``crmos.packs`` entry-point group like any plugin.

Each entry point names a function returning the pack's YAML text (package data).
"""

from __future__ import annotations

from importlib.resources import files


def _read(name: str) -> str:
    return (files("crmos.compliance") / "packs" / f"{name}.yaml").read_text(encoding="utf-8")


def gdpr() -> str:
    """EU General Data Protection Regulation."""
    return _read("gdpr")


def dsa() -> str:
    """EU Digital Services Act."""
    return _read("dsa")


def ccpa() -> str:
    """California Consumer Privacy Act / California Privacy Rights Act."""
    return _read("ccpa")


def pipl() -> str:
    """Personal Information Protection Law of the PRC."""
    return _read("pipl")


def lgpd() -> str:
    """Brazil's Lei Geral de Proteção de Dados."""
    return _read("lgpd")
