"""The sandbox's rules, without a child process: what a component may write, read and reach."""

from __future__ import annotations

import os
from pathlib import Path

from crmos.playbooks.sandbox_policy import (
    Limits,
    Policy,
    endpoints,
    frame,
    is_write,
    unframe_length,
)


def _policy(tmp_path: Path, *reach: str) -> Policy:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return Policy(str(scratch), ("/usr",), (str(tmp_path / "home"),), reach)


def test_a_component_writes_only_under_its_scratch_directory(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert policy.may_write(str(tmp_path / "scratch" / "tile.png"))
    assert not policy.may_write(str(tmp_path / "elsewhere.txt"))
    assert not policy.may_write(str(tmp_path / "scratch" / ".." / "escape.txt"))


def test_a_symlink_out_of_the_scratch_directory_does_not_let_a_write_out(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    os.symlink(tmp_path, tmp_path / "scratch" / "door")
    assert not policy.may_write(str(tmp_path / "scratch" / "door" / "escape.txt"))


def test_reads_are_limited_to_code_roots_and_never_the_store_or_an_environment(
    tmp_path: Path,
) -> None:
    policy = _policy(tmp_path)
    assert policy.may_read("/usr/lib/python3/dist-packages")
    assert not policy.may_read(str(tmp_path / "home" / "crmos.db"))
    assert not policy.may_read("/proc/1/environ")
    assert not policy.may_read("/etc/passwd")


def test_only_declared_endpoints_and_what_their_names_resolved_to_may_be_reached(
    tmp_path: Path,
) -> None:
    policy = _policy(tmp_path, "api.example.com", "127.0.0.1:8025")
    assert policy.may_resolve("api.example.com") and not policy.may_resolve("cdn.example.net")
    assert policy.may_connect(("127.0.0.1", 8025))
    assert not policy.may_connect(("127.0.0.1", 8026))
    assert not policy.may_connect(("93.184.216.34", 443))
    policy.learn("api.example.com", ["93.184.216.34"])
    assert policy.may_connect(("93.184.216.34", 443))
    assert not policy.may_connect("/run/postgresql/.s.PGSQL.5432")  # unix sockets: never


def test_logical_hosts_are_their_configured_base_urls() -> None:
    urls = {"erp": "http://127.0.0.1:9001/erp"}
    assert endpoints(("erp", "api.example.com"), urls) == ["127.0.0.1:9001", "api.example.com"]


def test_open_modes_and_flags_that_write_are_told_from_reads() -> None:
    assert is_write("w", None) and is_write("a+", None) and is_write("rb+", None)
    assert is_write(None, os.O_WRONLY | os.O_CREAT)
    assert not is_write("rb", os.O_RDONLY) and not is_write("r", None)


def test_a_frame_announces_its_length_and_an_absurd_one_is_refused() -> None:
    data = frame({"op": "done"})
    assert unframe_length(data[:4]) == len(data) - 4
    try:
        unframe_length(b"\xff\xff\xff\xff")
    except ValueError as exc:
        assert "over" in str(exc)
    else:
        raise AssertionError("a 4 GB frame was accepted")


def test_default_limits_are_what_the_catalog_shows() -> None:
    assert Limits().as_dict() == {"timeout_s": 10.0, "cpu_s": 2.0, "memory_mb": 768}
