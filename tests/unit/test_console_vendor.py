"""The console's vendored JavaScript ships inside the package and matches its pinned checksums."""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files


def test_every_vendored_script_matches_the_sha256_in_its_manifest() -> None:
    vendor = files("crmos.web") / "static" / "vendor"
    manifest = json.loads((vendor / "manifest.json").read_text())
    names = {entry["file"] for entry in manifest["files"]}
    assert {
        "htmx.min.js",
        "alpine.min.js",
        "cytoscape.min.js",
        "echarts.min.js",
        "drawflow.min.js",
    } <= names
    for entry in manifest["files"]:
        digest = hashlib.sha256((vendor / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{entry['file']}: run `make vendor`"
        assert entry["version"][0].isdigit(), "pin an exact version"
