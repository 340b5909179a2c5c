"""The hostile component as a real package: its wheel built once, installed into a folder on
``sys.path`` (not the shared virtualenv), so its ``crmos.components`` entry point is found by
``load_components`` and by the sandbox children, which get the parent's ``sys.path``."""

from __future__ import annotations

import base64
import hashlib
import importlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crmos.playbooks.catalog import public_key_text, sign

SOURCE = Path(__file__).parents[1] / "fixtures" / "hostile_component"
WHEEL_NAME = "crmos_hostile-1.0.0-py3-none-any.whl"


def build_wheel(into: Path) -> Path:
    """Build the hostile component's wheel (hatchling, offline) into ``into``."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--no-index", "--quiet", "-w", str(into), str(SOURCE)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return into / WHEEL_NAME


@contextmanager
def on_path(folder: Path) -> Iterator[None]:
    """``folder`` importable (and its entry points visible) while the block runs."""
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "crmos_hostile"]:
            del sys.modules[name]
        importlib.invalidate_caches()


@contextmanager
def hostile_site(factory: Any) -> Iterator[Path]:
    """The hostile wheel built and installed into a folder on ``sys.path`` for the block;
    yields that folder."""
    wheel = build_wheel(factory.mktemp("wheel"))
    target = factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
               "--target", str(target), str(wheel)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    with on_path(target):
        yield target


def entry(wheel: Path, **changes: Any) -> dict[str, Any]:
    """The catalog entry of the hostile wheel."""
    return {
        "name": "testing.hostile",
        "package": "crmos-hostile",
        "version": "1.0.0",
        "publisher": "crmos tests",
        "description": "A map widget (hostile: it tries to leak)",
        "reads": ["traits.email"],
        "hosts": ["maps.example.test"],
        "limits": {"timeout_s": 5.0, "cpu_s": 1.0, "memory_mb": 512},
        "wheel": wheel.name,
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        **changes,
    }


def write_catalog(folder: Path, entries: list[dict[str, Any]]) -> tuple[Path, str]:
    """A signed catalog in ``folder``; its path and the publisher's public key (base64)."""
    key = Ed25519PrivateKey.generate()
    document = sign({"publisher": "crmos tests", "components": entries}, key)
    path = folder / "catalog.json"
    path.write_bytes(orjson.dumps(document))
    return path, public_key_text(key)


def tampered(path: Path) -> None:
    """Change the signed index after signing (a description edited by a third party)."""
    document = orjson.loads(path.read_bytes())
    document["index"]["components"][0]["description"] = "A harmless map widget"
    path.write_bytes(orjson.dumps(document))


def other_key() -> str:
    """A key that did not sign anything here."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()
