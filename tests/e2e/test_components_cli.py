"""``crmos components``: the signed catalog searched and installed from, verified on the way;
reviews by a compliance key with a mandatory reason; bad input told with the field and the fix.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import run_cli as run
from tests.integration.market_support import build_wheel, entry, on_path, tampered, write_catalog


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hostile wheel in a signed catalog the settings point at; returns the wheel."""
    folder = tmp_path / "catalog"
    wheel = build_wheel(folder)
    path, key = write_catalog(folder, [entry(wheel)])
    monkeypatch.setenv("CRMOS__PLAYBOOKS__CATALOG", str(path))
    monkeypatch.setenv("CRMOS__PLAYBOOKS__CATALOG_KEY", key)
    return wheel


def test_search_install_review_and_show_a_component_from_the_signed_catalog(
    cli: CliRunner, published: Path, tmp_path: Path
) -> None:
    keys = json.loads(run(cli, "workspace", "create", "acme", "--json"))
    [found] = json.loads(run(cli, "components", "search", "map", "--json"))
    assert found["permissions"] == "reads: email; may call: maps.example.test"
    site = tmp_path / "site"
    done = json.loads(run(cli, "components", "install", "testing.hostile",
                          "--target", str(site), "--json"))  # fmt: skip
    assert done["status"] == "pending review" and (site / "crmos_hostile").is_dir()
    with on_path(site):
        listed = {r["name"]: r for r in json.loads(run(cli, "components", "list", "--json"))}
        assert listed["testing.hostile"]["status"] == "pending review"
        assert listed["notify.email"]["status"] == "approved"
        admin = keys["admin_key"]
        refused = run(cli, "components", "approve", "testing.hostile", "--reason", "ok",
                      "--key", admin, code=77)  # fmt: skip
        assert "lacks the 'compliance' scope" in refused
        reviewer = json.loads(run(cli, "components", "reviewer-key", "dpo", "--json"))["secret"]
        blank = run(cli, "components", "approve", "testing.hostile", "--reason", " ",
                    "--key", reviewer, code=65)  # fmt: skip
        assert "reason: a review needs a reason" in blank
        run(cli, "components", "approve", "testing.hostile", "--reason", "tiles host checked",
            "--key", reviewer)  # fmt: skip
        shown = json.loads(run(cli, "components", "show", "testing.hostile", "--json"))
        assert shown["status"] == "approved" and shown["reviewer"] == "dpo"
        [top, *_] = json.loads(run(cli, "components", "review", "--json"))
        assert {"uses", "permissions", "reviewed_ms"} <= set(top)


def test_a_wheel_that_does_not_match_the_signed_hash_is_not_installed(
    cli: CliRunner, published: Path, tmp_path: Path
) -> None:
    other = tmp_path / "download" / published.name
    other.parent.mkdir()
    shutil.copy(published, other)
    with other.open("ab") as f:
        f.write(b"trojan")
    out = run(cli, "components", "install", str(other), "--target", str(tmp_path / "site"),
              code=65)  # fmt: skip
    assert "index.components[0].sha256" in out and "get it again" in out
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # refused before the store
def test_a_package_that_declares_more_than_its_catalog_entry_is_refused_and_nothing_installed(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "catalog"
    wheel = build_wheel(folder)
    # The entry shows reviewers less than the package declares: another field, no host, and
    # less memory than the package's own limits ask for.
    narrow = entry(wheel, reads=["traits.phone"], hosts=[],
                   limits={"timeout_s": 5.0, "cpu_s": 1.0, "memory_mb": 256})  # fmt: skip
    path, key = write_catalog(folder, [narrow])
    monkeypatch.setenv("CRMOS__PLAYBOOKS__CATALOG", str(path))
    monkeypatch.setenv("CRMOS__PLAYBOOKS__CATALOG_KEY", key)
    site = tmp_path / "site"
    out = run(cli, "components", "install", "testing.hostile", "--target", str(site), code=65)
    assert "the package declares more than its catalog entry" in out
    assert "index.components[0].reads: the package reads traits.email" in out
    assert "index.components[0].hosts: the package may call maps.example.test" in out
    assert "index.components[0].limits.memory_mb" in out
    assert not site.exists()


def test_a_catalog_edited_after_signing_is_refused_and_says_which_setting_holds_the_key(
    cli: CliRunner, published: Path
) -> None:
    tampered(published.parent / "catalog.json")
    out = run(cli, "components", "search", code=65)
    assert "signature: does not verify" in out and "CRMOS__PLAYBOOKS__CATALOG_KEY" in out


def test_crmos_own_components_cannot_be_removed(cli: CliRunner) -> None:
    out = run(cli, "components", "remove", "notify.email", code=65)
    assert "crmos's own components stay" in out
