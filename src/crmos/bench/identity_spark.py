"""Batch deduplication on both engines: ``crmos identity dedupe`` on DuckDB and on Spark.

The same synthetic file (``identity_febrl.synthetic_people``: Febrl4's value pools, a fifth
corrupted copies, a tenth relatives) is deduplicated with ``--engine duckdb`` and
``--engine spark`` (Splink's Spark backend on ``local[*]``), each timed end to end (CSV in,
clusters CSV out; Spark's start-up included, as a user of the command pays it) and scored on
the true clusters. DuckDB is the reference: on one machine it is the engine to beat, Spark's
worth is the cluster it can spread over. ``crmos bench scaleout`` reports the million-record
pair as ``spark_dedupe_1m_s`` and ``duckdb_dedupe_1m_s``.
"""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from crmos.bench.identity_febrl import f1_of, pairs_of, read_rows, scores, synthetic_people
from crmos.identity.matching import EngineOptions, dedupe_file

MILLION = 1_000_000
QUICK_RECORDS = 20_000


def size_label(records: int) -> str:
    """``1m`` for a million records, ``20k`` for twenty thousand, else the count."""
    if records % MILLION == 0:
        return f"{records // MILLION}m"
    return f"{records // 1000}k" if records % 1000 == 0 else str(records)


def dedupe_engines(
    records: int, engines: tuple[str, ...] = ("duckdb", "spark"), master: str = "local[*]"
) -> dict[str, Any]:
    """Seconds, precision and recall of deduplicating ``records`` people on each engine."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    label = size_label(records)
    figures: dict[str, Any] = {"engines_records": records}
    with tempfile.TemporaryDirectory(prefix="crmos-bench-engines-") as tmp:
        path, truth = synthetic_people(Path(tmp), records)
        true_pairs = pairs_of(truth.values())
        for engine in engines:
            out = Path(tmp) / f"clusters-{engine}.csv"
            options = EngineOptions(engine=engine, spark_master=master)  # type: ignore[arg-type]
            report = dedupe_file(path, "rec_id", out, options=options)
            clusters: dict[str, list[str]] = defaultdict(list)
            for row in read_rows(out):
                clusters[row["cluster_id"]].append(row["rec_id"])
            precision, recall = scores(pairs_of(clusters.values()), true_pairs)
            figures[f"{engine}_dedupe_{label}_s"] = round(report.seconds, 2)
            figures[f"{engine}_dedupe_{label}_f1"] = round(f1_of(precision, recall), 4)
            figures[f"{engine}_dedupe_{label}_precision"] = round(precision, 4)
    return figures
