"""``--engine spark``: Splink's Spark backend on ``local[*]`` finds what the DuckDB engine finds.

Febrl4 samples as in ``test_matching_files``, each matched on both engines in the same test.
Small samples: Spark runs Splink's training as hundreds of small jobs, each with a fixed cost.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from crmos.cli.main import app
from crmos.identity.matching import EngineOptions, dedupe_file, link_files
from tests.integration.test_matching_files import febrl, read, sample, scores, write

__all__ = ["febrl"]  # the module-scoped fixture, shared

SPARK = EngineOptions(engine="spark")


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def test_linking_on_spark_scores_the_f1_of_duckdb_on_febrl4(febrl: Any, tmp_path: Path) -> None:
    left, right, truth = sample(febrl, 120, 40)
    a, b = write(tmp_path / "a.csv", left), write(tmp_path / "b.csv", right)
    f1 = {}
    for engine, options in (("duckdb", EngineOptions()), ("spark", SPARK)):
        out = tmp_path / f"links-{engine}.csv"
        report = link_files(a, b, "rec_id", out, options=options)
        assert report.records == 280 and report.trained
        f1[engine] = _f1(*scores({(r["left_id"], r["right_id"]) for r in read(out)}, truth))
    assert f1["spark"] >= 0.98, f1  # (both 0.9958 when written: precision 1.0, recall 0.9917)
    assert abs(f1["spark"] - f1["duckdb"]) <= 0.005, f1


def _clusters(out: Path) -> dict[str, list[str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for r in read(out):
        members[r["cluster_id"]].append(r["rec_id"])
    return members


def test_the_cli_deduplicates_on_a_spark_master_clustering_the_febrl4_duplicates_as_duckdb_does(
    febrl: Any, tmp_path: Path
) -> None:
    """One Spark run (each costs Splink's training as hundreds of small jobs): the CLI's
    ``--engine spark --spark-master``, scored against the truth and the DuckDB engine."""
    left, right, truth = sample(febrl, 100, 60)
    path = write(tmp_path / "all.csv", pd.concat([left, right]))
    everyone = sorted([*left.index, *right.index])
    duck = dedupe_file(path, "rec_id", tmp_path / "duckdb.csv", options=EngineOptions())
    assert duck.clusters == len(_clusters(tmp_path / "duckdb.csv"))
    args = ["identity", "dedupe", str(path), "--id-column", "rec_id"]
    spark = [*args, "--out", str(tmp_path / "spark.csv"), "--engine", "spark"]
    result = CliRunner().invoke(app, [*spark, "--spark-master", "local[*]"])
    assert result.exit_code == 0, result.output
    found = {}
    for engine in ("duckdb", "spark"):
        members = _clusters(tmp_path / f"{engine}.csv")
        assert sorted(r for g in members.values() for r in g) == everyone
        found[engine] = {(max(g), min(g)) for g in members.values() if len(g) == 2}
    precision, recall = scores(found["spark"], truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)
    assert len(found["spark"] ^ found["duckdb"]) <= 3, found["spark"] ^ found["duckdb"]
    refused = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "x.csv"), "--engine", "hadoop"]
    )
    assert refused.exit_code != 0 and "hadoop" in refused.output
