"""The component catalog: a signed JSON index of component wheels, and installing from it.

The index is ``{"index": {"publisher", "components": [...]}, "signature": base64}``, signed
with the publisher's Ed25519 key over the index's canonical JSON (keys sorted, no spaces).
Each entry names a component with its version, publisher, description, declared fields,
hosts, resource limits, its wheel (a path relative to the index, or a URL) and the wheel's
sha256. A wheel is installed only if the index verifies under the configured publisher key and
the wheel's bytes hash to the listed sha256; pip then installs that verified file, offline,
without dependencies.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import hashlib
import io
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from crmos.core.errors import ConfigError, Problem, UnknownName, ValidationError

KEY_SETTING = "playbooks.catalog_key (CRMOS__PLAYBOOKS__CATALOG_KEY)"
SOURCE_SETTING = "playbooks.catalog (CRMOS__PLAYBOOKS__CATALOG)"


class LimitsIn(BaseModel):
    """Resource limits of one call, as the catalog lists them."""

    model_config = ConfigDict(extra="forbid")
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    cpu_s: float = Field(default=2.0, gt=0, le=300)
    memory_mb: int = Field(default=768, ge=64, le=65536)


class Entry(BaseModel):
    """One component in the catalog."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    package: str = Field(min_length=1, description="The Python distribution's name.")
    version: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    description: str = ""
    reads: list[str] = []
    hosts: list[str] = []
    limits: LimitsIn = LimitsIn()
    wheel: str = Field(min_length=1, description="Path relative to the index, or a URL.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    def permissions(self) -> str:
        """The app-store line: ``reads: email, phone; may call: api.example.com``."""
        return permissions(self.reads, self.hosts)


def permissions(reads: list[str] | tuple[str, ...], hosts: list[str] | tuple[str, ...]) -> str:
    """What a component may touch, in the words of an app store."""
    fields = [r.removeprefix("traits.") for r in reads]
    return f"reads: {', '.join(fields) or 'nothing'}; may call: {', '.join(hosts) or 'nothing'}"


@dataclass(frozen=True, slots=True)
class Catalog:
    """A verified index and where it came from (wheel paths are relative to it)."""

    source: str
    publisher: str
    entries: tuple[Entry, ...]

    def search(self, text: str = "") -> list[Entry]:
        """Entries whose name, description or publisher contains ``text`` (any case)."""
        needle = text.lower()
        return [
            e
            for e in self.entries
            if needle in f"{e.name} {e.description} {e.publisher} {e.package}".lower()
        ]

    def get(self, name: str) -> Entry:
        """The entry of component ``name``; :class:`UnknownName` suggests close ones."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise UnknownName("catalog component", name, [e.name for e in self.entries])

    def by_wheel(self, wheel: Path) -> Entry:
        """The entry listing a wheel file of this name (a local wheel must be in the catalog)."""
        for entry in self.entries:
            if Path(urlsplit(entry.wheel).path).name == wheel.name:
                return entry
        raise ValidationError(
            f"wheel {wheel.name} refused",
            [
                Problem(
                    "wheel",
                    f"{wheel.name} is not listed in the catalog {self.source}; only "
                    "wheels the signed catalog lists (with their sha256) can be installed",
                    reason="not_in_catalog",
                )
            ],
        )

    def wheel_bytes(self, entry: Entry, local: Path | None = None) -> bytes:
        """The entry's wheel (``local`` if given), refused unless its sha256 matches."""
        data = local.read_bytes() if local is not None else _read(self._locate(entry.wheel))
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.sha256:
            raise ValidationError(
                f"wheel of component '{entry.name}' refused",
                [
                    Problem(
                        f"index.components[{self.entries.index(entry)}].sha256",
                        f"the wheel hashes to {digest}, the signed catalog lists {entry.sha256}: "
                        "it is corrupt or was tampered with; get it again from the publisher",
                        reason="hash_mismatch",
                    )
                ],
            )
        return data

    def _locate(self, wheel: str) -> str:
        if urlsplit(wheel).scheme in ("http", "https"):
            return wheel
        if urlsplit(self.source).scheme in ("http", "https"):
            return urljoin(self.source, wheel)
        return str(Path(self.source).parent / wheel)


def declared_points(wheel: bytes) -> dict[str, str]:
    """The ``crmos.components`` entry points a wheel declares, name -> ``module:attr`` (read
    from its metadata, never imported)."""
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for member in archive.namelist():
            if member.endswith(".dist-info/entry_points.txt"):
                parser.read_string(archive.read(member).decode("utf-8"))
    if not parser.has_section("crmos.components"):
        return {}
    return {name: value.strip() for name, value in parser["crmos.components"].items()}


def declared_names(wheel: bytes) -> set[str]:
    """The ``crmos.components`` entry point names a wheel declares (read, never imported)."""
    return set(declared_points(wheel))


def check_declares(entry: Entry, wheel: bytes, index: int) -> None:
    """Refuse a wheel whose entry points do not name the component the catalog lists."""
    names = declared_names(wheel)
    if entry.name not in names:
        raise ValidationError(
            f"wheel of component '{entry.name}' refused",
            [
                Problem(
                    f"index.components[{index}].name",
                    f"the wheel's crmos.components entry points are {sorted(names) or 'none'}, "
                    f"not '{entry.name}': the catalog and the package disagree; tell the "
                    "publisher",
                    reason="not_declared",
                )
            ],
        )


def canonical(index: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers."""
    return orjson.dumps(index, option=orjson.OPT_SORT_KEYS)


def sign(index: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """A signed catalog document for ``index`` (what a publisher runs)."""
    signature = private_key.sign(canonical(index))
    return {"index": dict(index), "signature": base64.b64encode(signature).decode()}


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    """The base64 public key to configure as ``playbooks.catalog_key``."""
    raw = private_key.public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


def load(source: str | None, key: str | None) -> Catalog:
    """Read the catalog at ``source`` and verify it with the publisher ``key``."""
    if not source:
        raise ConfigError(SOURCE_SETTING, "no catalog configured; set it to an index path or URL")
    if not key:
        raise ConfigError(
            KEY_SETTING,
            "no publisher key; set the base64 Ed25519 public key the catalog's publisher gave you",
        )
    public = _public_key(key)
    try:
        document = orjson.loads(_read(source))
    except orjson.JSONDecodeError as exc:
        raise ValidationError(
            f"catalog {source} refused", [Problem("(file)", f"not JSON: {exc}")]
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("index"), dict):
        raise ValidationError(
            f"catalog {source} refused",
            [Problem("index", 'missing: a catalog is {"index": {...}, "signature": "..."}')],
        )
    _verify(source, document, public)
    return _parsed(source, document["index"])


def _verify(source: str, document: dict[str, Any], public: Ed25519PublicKey) -> None:
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        public.verify(signature, canonical(document["index"]))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise ValidationError(
            f"catalog {source} refused",
            [
                Problem(
                    "signature",
                    "does not verify under the configured publisher key "
                    f"({KEY_SETTING}): the index was altered or signed by someone else",
                    reason="bad_signature",
                )
            ],
        ) from exc


def _parsed(source: str, index: dict[str, Any]) -> Catalog:
    problems: list[Problem] = []
    entries: list[Entry] = []
    for i, raw in enumerate(index.get("components") or []):
        try:
            entries.append(Entry.model_validate(raw))
        except PydanticError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(f"index.components[{i}].{where}", err["msg"]))
    if problems:
        raise ValidationError(f"catalog {source} refused", problems)
    return Catalog(source, str(index.get("publisher", "")), tuple(entries))


def _public_key(key: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            KEY_SETTING, f"not a base64 Ed25519 public key (32 bytes): {exc}"
        ) from exc


def _read(where: str) -> bytes:
    if urlsplit(where).scheme in ("http", "https"):
        try:
            response = httpx.get(where, timeout=30.0, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ConfigError(SOURCE_SETTING, f"cannot fetch {where}: {exc}") from exc
        return response.content
    try:
        return Path(where).read_bytes()
    except OSError as exc:
        raise ConfigError(SOURCE_SETTING, f"cannot read {where}: {exc.strerror}") from exc


def pip_install(wheel: Path, target: Path | None = None) -> None:
    """Install the verified ``wheel`` offline, without dependencies (into ``target`` if given,
    else the running environment)."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    command += ["--target", str(target), "--upgrade"] if target is not None else []
    _pip([*command, str(wheel)], f"install {wheel.name}")


def remove_from(folder: Path, package: str) -> bool:
    """Delete ``package``'s files from ``folder`` (where ``pip install --target`` put it), as
    its RECORD lists them; whether it was there. pip uninstalls only from its own environment."""
    wanted = _canonical(package)
    root = folder.resolve()
    found = False
    for dist in metadata.distributions(path=[str(root)]):
        if _canonical(dist.metadata["Name"] or "") != wanted:
            continue
        found = True
        touched: set[Path] = set()
        for file in dist.files or ():
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_relative_to(root) and path != root:  # a RECORD cannot reach outside
                path.unlink(missing_ok=True)
                touched.add(path.parent)
        for parent in sorted(touched, key=lambda p: len(p.parts), reverse=True):
            _prune(parent, root)
    return found


def _prune(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to ``root`` while they are empty (or hold only
    bytecode caches)."""
    while folder != root and folder.is_relative_to(root) and folder.is_dir():
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
        if any(folder.iterdir()):
            return
        folder.rmdir()
        folder = folder.parent


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_remove(package: str) -> None:
    """Uninstall ``package`` from the running environment."""
    _pip(
        [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", package], f"remove {package}"
    )


def _pip(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConfigError("pip", f"could not {what}: {done.stderr.strip()[-500:]}")
