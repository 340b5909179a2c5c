"""The demo's files answer crmos's erasure webhook, and an erased person stays out of re-runs."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from crmos.demo import generate
from crmos.demo.cast import write_cast
from crmos.demo.eraser import GROUND_TRUTH, FilesEraser, forget_erased

NOW = datetime(2026, 3, 6, 12, tzinfo=UTC)


def _seed(folder: Path) -> tuple[list[dict[str, str]], str]:
    world = generate(seed=3, people=30, now=NOW)
    rows = world.ground_truth()
    folder.mkdir(parents=True)
    with (folder / GROUND_TRUTH).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_cast(folder, world.events)
    erased = next(p for p in world.people if p.role == "consumer" and p.country == "DE")
    return rows, erased.email


def test_an_erasure_removes_the_person_from_ground_truth_and_cast_and_confirms_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo"
    rows, email = _seed(folder)
    person = next(r["person_id"] for r in rows if r["identifier_value"] == email)
    eraser = FilesEraser(folder).start()
    try:
        body = {"request_id": "dsr_1", "identifiers": [{"type": "email", "value": email}]}
        first = httpx.post(eraser.url, json=body, timeout=10)
        again = httpx.post(eraser.url, json=body, timeout=10)
    finally:
        eraser.stop()
    assert first.status_code == 200 and first.json()["erased"] > 0
    assert again.status_code == 404  # it holds nothing of that person any more
    kept = (folder / GROUND_TRUTH).read_text()
    assert email not in kept and f"{person}," not in kept
    assert email not in (folder / "cast.json").read_text()
    assert len(json.loads((folder / "cast.json").read_text())) > 0


def test_a_rerun_of_the_world_leaves_an_erased_person_and_their_events_out(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo"
    _, email = _seed(folder)
    eraser = FilesEraser(folder).start()
    try:
        body = {"identifiers": [{"type": "email", "value": email}]}
        httpx.post(eraser.url, json=body, timeout=10).raise_for_status()
    finally:
        eraser.stop()
    world = generate(seed=3, people=30, now=NOW)
    again = forget_erased(world, folder)
    assert email not in {p.email for p in again.people}
    assert len(again.people) == len(world.people) - 1
    assert not [
        e for e in again.events if email in (e.get("userId"), e.get("traits", {}).get("email"))
    ]
    assert 0 < len(world.events) - len(again.events) < len(world.events)
    assert email not in (folder / "erased.sha256").read_text()
