"""Batch probabilistic matching of CSV files: link two files, or deduplicate one.

``link_files`` and ``dedupe_file`` work on any CSV with name, date, address-like columns:
the comparisons and blocking rules are inferred from column names and values
(``model``), optionally overridden by a settings file (``overrides``).
``match_workspace`` (``store``) runs the same engine over the workspace's profiles.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from crmos.core.errors import Problem, ValidationError
from crmos.identity.matching.frames import (
    clean_table,
    common_columns,
    connect,
    load_csv,
    profiles,
    rows,
    scalar,
)
from crmos.identity.matching.model import ColumnRole, MatchPlan, infer_plan
from crmos.identity.matching.overrides import Overrides, apply_overrides, load_overrides
from crmos.identity.matching.splink import ChosenRule, EngineOptions, SplinkRun, choose_rules

DEDUPE_THRESHOLD = 0.9
LINK_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class MatchReport:
    """What a matching run did: the plan, the rules it kept, what it found, how long it took."""

    plan: MatchPlan
    rules: tuple[ChosenRule, ...]
    records: int
    pairs: int
    clusters: int
    threshold: float
    seconds: float
    trained: bool


def link_files(
    left: Path,
    right: Path,
    id_column: str,
    out: Path,
    *,
    settings: Path | None = None,
    threshold: float | None = None,
    options: EngineOptions | None = None,
) -> MatchReport:
    """Link two CSV files; write ``left_id,right_id,probability`` to ``out``, best first."""
    started = time.perf_counter()
    with closing(connect()) as con:
        run, trained = _prepare(con, [left, right], id_column, settings, options, threshold)
        with closing(run):
            predictions = run.local(run.predict())
            ident = _ident(run)
            rows(
                con,
                f"copy (select case when source_dataset_l = 't_0' then {ident}_l "
                f"else {ident}_r end as left_id, case when source_dataset_l = 't_0' "
                f"then {ident}_r else {ident}_l end as right_id, "
                f"round(match_probability, 6) as probability from {predictions} "
                f"order by probability desc, left_id, right_id) "
                f"to '{_literal(out)}' (header, delimiter ',')",
            )
            pairs = _count(con, predictions)
            return _report(run, con, pairs, 0, trained, started)


def dedupe_file(
    path: Path,
    id_column: str,
    out: Path,
    *,
    settings: Path | None = None,
    threshold: float | None = None,
    options: EngineOptions | None = None,
) -> MatchReport:
    """Deduplicate one CSV file; write ``rec_id,cluster_id`` for every record to ``out``."""
    started = time.perf_counter()
    with closing(connect()) as con:
        cut = threshold if threshold is not None else DEDUPE_THRESHOLD
        run, trained = _prepare(con, [path], id_column, settings, options, cut)
        with closing(run):
            predicted = run.predict()
            clusters = run.local(run.cluster(predicted, run.options.threshold))
            predictions = run.local(predicted)
            ident = _ident(run)
            rows(
                con,
                f"copy (select {ident} as rec_id, cluster_id from {clusters} "
                f"order by cluster_id, rec_id) to '{_literal(out)}' (header, delimiter ',')",
            )
            n_clusters = _count(con, clusters, "distinct cluster_id")
            pairs = _count(con, predictions)
            return _report(run, con, pairs, n_clusters, trained, started)


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _count(con: duckdb.DuckDBPyConnection, table: str, what: str = "*") -> int:
    return scalar(con, f"select count({what}) from {table}")


def _ident(run: SplinkRun) -> str:
    return run.id_column


def _report(
    run: SplinkRun,
    con: duckdb.DuckDBPyConnection,
    pairs: int,
    clusters: int,
    trained: bool,
    started: float,
) -> MatchReport:
    records = sum(_count(con, t) for t in run.tables)
    return MatchReport(
        plan=run.plan,
        rules=tuple(run.rules),
        records=records,
        pairs=pairs,
        clusters=clusters,
        threshold=run.options.threshold,
        seconds=time.perf_counter() - started,
        trained=trained,
    )


def _prepare(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    id_column: str,
    settings: Path | None,
    options: EngineOptions | None,
    threshold: float | None,
) -> tuple[SplinkRun, bool]:
    """Load, infer, clean, choose rules, build and (unless the model is trained) train."""
    raws = [f"raw_{i}" for i in range(len(paths))]
    ident, labels = "", dict[str, str]()
    for path, raw in zip(paths, raws, strict=True):
        ident, found = load_csv(con, path, raw, id_column)
        labels = {**found, **labels}
    overrides = load_overrides(settings) if settings else Overrides()
    opts = options or EngineOptions()
    cut = next(t for t in (threshold, overrides.threshold, opts.threshold) if t is not None)
    opts = replace(opts, threshold=cut)
    plan = plan_for(con, raws, ident, labels, overrides)
    if not plan.roles and overrides.splink is None:
        where = ", ".join(map(str, paths))
        raise ValidationError(f"{where}: nothing to compare", [_no_comparable(plan, id_column)])
    tables = tuple(f"t_{i}" for i in range(len(paths)))
    return build_run(con, raws, tables, ident, plan, opts, overrides)


def plan_for(
    con: duckdb.DuckDBPyConnection,
    raws: Sequence[str],
    ident: str,
    labels: dict[str, str],
    overrides: Overrides,
) -> MatchPlan:
    """The inferred plan over the columns every file has, with the settings file applied.

    ``labels`` maps each safe column name to its header as written.
    """
    columns = common_columns(con, raws)
    found = profiles(con, raws, [c for c in columns if c != ident], labels)
    plan = infer_plan(found, ident)
    alone = [c for c in labels if c not in columns]
    plan = replace(plan, ignored=(*plan.ignored, *((c, "not in every file") for c in alone)))
    names = {c: c for c in columns} | {labels.get(c, c): c for c in columns}
    samples = {p.name: p.by_file() for p in found}
    return apply_overrides(plan, overrides, names, samples)


def _no_comparable(plan: MatchPlan, id_column: str) -> Problem:
    why = "; ".join(f"{c}: {reason}" for c, reason in plan.ignored) or "only the id column"
    first = plan.ignored[0][0] if plan.ignored else "COLUMN"
    hint = (
        "name them like first_name, surname, date_of_birth, postcode, email, phone, or give "
        f"their kinds in a --settings file (columns: {{{first}: name}})"
    )
    return Problem("columns", f"no column besides '{id_column}' can be compared ({why}); {hint}")


def build_run(
    con: duckdb.DuckDBPyConnection,
    raws: Sequence[str],
    tables: Sequence[str],
    ident: str,
    plan: MatchPlan,
    options: EngineOptions,
    overrides: Overrides,
) -> tuple[SplinkRun, bool]:
    """Clean the tables, keep the blocking rules that fit, build the linker, train it."""
    extra = {c for rule in plan.blocking for c in rule.columns} - {r.column for r in plan.roles}
    roles: list[ColumnRole] = [*plan.roles, *(ColumnRole(c, "text", "blocking") for c in extra)]
    if overrides.splink is not None:
        all_columns = [c for c in common_columns(con, raws) if c != ident]
        roles = [ColumnRole(c, "text", "splink settings") for c in all_columns]
    for part, (raw, table) in enumerate(zip(raws, tables, strict=True)):
        splink = overrides.splink is not None
        clean_table(con, raw, table, ident, roles, part=part, raw_text=splink)
    records = sum(_count(con, t) for t in tables)
    budget = max(options.min_pairs, int(options.pair_budget * records))
    rules = [] if overrides.splink is not None else choose_rules(con, tables, plan, budget)
    if not rules and overrides.splink is None:
        raise ValidationError("no blocking rule fits", [_no_rules(plan, budget)])
    run = SplinkRun(con, tuple(tables), plan, options, rules, id_column=ident)
    try:
        run.build(overrides.splink)
        trained = overrides.splink is None or not _is_trained(overrides.splink)
        if trained:
            run.train()
    except BaseException:
        run.close()
        raise
    return run, trained


def _no_rules(plan: MatchPlan, budget: int) -> Problem:
    tried = ", ".join(r.label for r in plan.blocking) or "none"
    return Problem(
        "blocking_rules",
        f"every candidate rule ({tried}) makes no pairs or more than {budget:,}; give "
        "blocking_rules in a --settings file (columns whose values duplicates share)",
    )


def _is_trained(splink: dict[str, object]) -> bool:
    """Whether a Splink settings dict carries m and u for every non-null level."""
    comparisons = splink.get("comparisons")
    if not isinstance(comparisons, list) or not comparisons:
        return False
    levels = [lv for c in comparisons if isinstance(c, dict) for lv in c["comparison_levels"]]
    return all(
        lv.get("is_null_level") or ("m_probability" in lv and "u_probability" in lv)
        for lv in levels
    )
