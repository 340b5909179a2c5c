#!/usr/bin/env python3
"""Refresh the console's vendored JavaScript from the npm registry (dev time only).

Reads the pins in src/crmos/web/static/vendor/manifest.json (package, version, file in the
package), fetches each tarball with ``npm pack``, copies the minified file next to the manifest
and records its SHA-256. Nothing downloads at run time: the files ship inside the package, and
tests/unit/test_console_vendor.py checks them against the manifest.

    python scripts/vendor.py            # fetch the pinned versions again, rewrite the hashes
    python scripts/vendor.py --check    # only verify the shipped files
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "src/crmos/web/static/vendor"
MANIFEST = VENDOR / "manifest.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(entry: dict[str, str], work: Path) -> None:
    spec = f"{entry['package']}@{entry['version']}"
    out = subprocess.run(
        ["npm", "pack", "--silent", spec], cwd=work, check=True, capture_output=True, text=True
    )
    tarball = work / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(f"package/{entry['source']}")
        if member is None:
            sys.exit(f"{spec} has no {entry['source']}")
        (VENDOR / entry["file"]).write_bytes(member.read())
    entry["sha256"] = sha256(VENDOR / entry["file"])
    sys.stdout.write(f"{entry['file']}: {spec} sha256 {entry['sha256']}\n")


def main() -> None:
    manifest = json.loads(MANIFEST.read_text())
    if "--check" in sys.argv:
        bad = [e["file"] for e in manifest["files"] if sha256(VENDOR / e["file"]) != e["sha256"]]
        if bad:
            sys.exit(f"checksum mismatch: {', '.join(bad)}; run `make vendor`")
        sys.stdout.write(f"{len(manifest['files'])} vendored files match their checksums\n")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for entry in manifest["files"]:
            fetch(entry, Path(tmp))
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
