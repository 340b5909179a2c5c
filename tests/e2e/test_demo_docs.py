"""The run files in docs/sagas.md are accepted as written, and the demo runs the same ones."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from crmos.bootstrap import build
from crmos.core.settings import Settings
from crmos.demo.director import run_plans

DOCS = Path(__file__).parents[2] / "docs" / "sagas.md"


def _run_files() -> list[dict[str, object]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    documents = [yaml.safe_load(block) for block in blocks]
    return [d for d in documents if isinstance(d, dict) and "steps" in d and "name" in d]


def test_every_run_file_in_the_sagas_guide_is_accepted_as_written(tmp_path: Path) -> None:
    files = _run_files()
    assert {f["name"] for f in files} >= {"framework_agreement", "service_ticket"}
    container = build(Settings(home=tmp_path / "home"), migrate_store=True)
    try:
        for raw in files:
            raw = {k: v for k, v in raw.items() if k != "profile_id"}  # a placeholder id
            assert container.runs.validate(raw).name == raw["name"]
    finally:
        container.close()


def test_the_guide_shows_the_service_ticket_run_the_demo_starts() -> None:
    documented = {f["name"]: f for f in _run_files()}
    shipped = run_plans()
    assert documented["service_ticket"]["steps"] == shipped["service_ticket"]["steps"]
    assert documented["framework_agreement"]["steps"] == shipped["framework_agreement"]["steps"]
