"""The component catalog: a signed index is read only if its signature verifies under the
configured publisher key, a wheel only if it hashes to what the index lists, and bad input is
refused with the field and the fix."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import BaseModel

from crmos.core.errors import ConfigError, UnknownName, ValidationError
from crmos.playbooks import catalog
from crmos.playbooks.described import Described
from crmos.playbooks.sandbox_policy import Limits
from crmos.playbooks.vetting import beyond
from tests.integration.market_support import entry, other_key, tampered, write_catalog


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "crmos_hostile-1.0.0-py3-none-any.whl"
    path.write_bytes(b"PK\x03\x04 pretend wheel bytes")
    return path


def test_a_signed_catalog_lists_each_component_with_its_permissions(wheel: Path) -> None:
    path, key = write_catalog(wheel.parent, [entry(wheel)])
    found = catalog.load(str(path), key)
    [item] = found.search("map")
    assert (item.name, item.version, item.publisher) == ("testing.hostile", "1.0.0", "crmos tests")
    assert item.permissions() == "reads: email; may call: maps.example.test"
    assert item.limits.memory_mb == 512
    assert found.search("nothing like it") == []


def test_an_index_edited_after_signing_is_refused(wheel: Path) -> None:
    path, key = write_catalog(wheel.parent, [entry(wheel)])
    tampered(path)
    with pytest.raises(ValidationError) as refused:
        catalog.load(str(path), key)
    [problem] = refused.value.problems
    assert problem.path == "signature" and problem.reason == "bad_signature"
    assert "publisher key" in problem.message


def test_an_index_signed_by_another_key_is_refused(wheel: Path) -> None:
    path, _ = write_catalog(wheel.parent, [entry(wheel)])
    with pytest.raises(ValidationError, match="does not verify"):
        catalog.load(str(path), other_key())


def test_without_a_publisher_key_the_setting_to_fix_is_named(wheel: Path) -> None:
    path, _ = write_catalog(wheel.parent, [entry(wheel)])
    with pytest.raises(ConfigError, match="CRMOS__PLAYBOOKS__CATALOG_KEY"):
        catalog.load(str(path), None)
    with pytest.raises(ConfigError, match="not a base64 Ed25519 public key"):
        catalog.load(str(path), "not-a-key")


def test_a_wheel_whose_bytes_do_not_match_the_signed_hash_is_refused(wheel: Path) -> None:
    path, key = write_catalog(wheel.parent, [entry(wheel)])
    found = catalog.load(str(path), key)
    assert found.wheel_bytes(found.get("testing.hostile")) == wheel.read_bytes()
    wheel.write_bytes(b"PK\x03\x04 a trojan")
    with pytest.raises(ValidationError) as refused:
        found.wheel_bytes(found.get("testing.hostile"))
    [problem] = refused.value.problems
    assert problem.path == "index.components[0].sha256"
    assert problem.reason == "hash_mismatch"


def test_a_local_wheel_must_be_listed_in_the_catalog(wheel: Path, tmp_path: Path) -> None:
    path, key = write_catalog(wheel.parent, [entry(wheel)])
    found = catalog.load(str(path), key)
    assert found.by_wheel(wheel).name == "testing.hostile"
    with pytest.raises(ValidationError, match="not listed in the catalog"):
        found.by_wheel(tmp_path / "other-1.0-py3-none-any.whl")


def test_an_unknown_component_name_suggests_the_closest(wheel: Path) -> None:
    path, key = write_catalog(wheel.parent, [entry(wheel)])
    with pytest.raises(UnknownName, match=r"did you mean 'testing\.hostile'"):
        catalog.load(str(path), key).get("testing.hostle")


def test_a_malformed_entry_is_refused_with_its_path_in_the_index(wheel: Path) -> None:
    path, key = write_catalog(wheel.parent, [entry(wheel, sha256="abc", name="NoDots")])
    with pytest.raises(ValidationError) as refused:
        catalog.load(str(path), key)
    paths = {p.path for p in refused.value.problems}
    assert paths == {"index.components[0].sha256", "index.components[0].name"}


def test_a_wheel_must_declare_the_component_the_catalog_lists(tmp_path: Path) -> None:
    wheel = tmp_path / "maps-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("maps-1.0.dist-info/entry_points.txt",
                         "[crmos.components]\nmaps.tiles = maps:Tiles\n")  # fmt: skip
    listed = catalog.Entry.model_validate(entry(wheel, name="maps.widget", package="maps"))
    assert catalog.declared_names(wheel.read_bytes()) == {"maps.tiles"}
    with pytest.raises(ValidationError) as refused:
        catalog.check_declares(listed, wheel.read_bytes(), 0)
    [problem] = refused.value.problems
    assert problem.path == "index.components[0].name" and "maps.tiles" in problem.message


def test_a_package_within_its_catalog_entry_passes_and_each_excess_is_named(wheel: Path) -> None:
    listed = catalog.Entry.model_validate(
        entry(wheel, reads=["traits"], hosts=["Maps.Example.Test"])
    )
    described = Described(
        name="testing.hostile", description="", params=BaseModel, impact="low",
        reads=("traits.email", "id"), hosts=("maps.example.test",),
        limits=Limits(timeout_s=5.0, cpu_s=1.0, memory_mb=512), sandbox_ref="m:C",
    )  # fmt: skip
    assert beyond(listed, described, 0) == []  # `traits` covers traits.email; id is always read
    greedy = replace(described, reads=("flags.vip",), hosts=("cdn.example.net",),
                     limits=Limits(timeout_s=5.0, cpu_s=3.0, memory_mb=512))  # fmt: skip
    found = {p.path: p for p in beyond(listed, greedy, 2)}
    assert set(found) == {"index.components[2].reads", "index.components[2].hosts",
                          "index.components[2].limits.cpu_s"}  # fmt: skip
    assert "flags.vip" in found["index.components[2].reads"].message
    assert found["index.components[2].hosts"].reason == "undeclared_host"
