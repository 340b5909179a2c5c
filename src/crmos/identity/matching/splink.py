"""The Splink adapter: a :class:`MatchPlan` over DuckDB tables becomes a trained Splink model.

The input tables hold clean values (``frames`` prepares them): lower-case text,
digits-only phones, real ``DATE`` columns, ``NULL`` for blanks. This module picks the
blocking rules that fit a pair budget, builds the comparisons, trains (u by random sampling
with a fixed seed, m by expectation maximisation under a Dirichlet prior on rules that
together leave every comparison free once, the prior between Splink's direct estimate and
what the data allows) and predicts. It calls Splink's public API only; what Splink offers no
public way to do (the prior on m, writing the trained model) goes through ``em``, the one
extension point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.blocking_rule_library import CustomRule
from splink.internals.exceptions import SplinkException
from splink.internals.splink_dataframe import SplinkDataFrame

from crmos.identity.matching import em
from crmos.identity.matching.comparisons import MatchEngine, comparison_for
from crmos.identity.matching.frames import scalar
from crmos.identity.matching.model import BlockingRule, ComparisonSpec, MatchPlan
from crmos.identity.matching.names import (
    NAME_LEVELS,
    ONE_NAME,
    needs_name_level,
    one_name_of,
    register_one_name,
)
from crmos.identity.matching.spark import SparkFrames

LinkType = Literal["dedupe_only", "link_only"]
MAX_DUPLICATES = 5


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Knobs of one run; the defaults suit files of a few thousand to a few million rows.

    ``pair_budget`` caps the pairs one blocking rule may make, as a multiple of the records
    (never under ``min_pairs``). u is estimated on ``u_per_record`` random pairs per record,
    between ``u_pairs`` bounds (a 1% sample of a 10k x 10k linkage is plenty; u barely moves
    past 2 million); ``seed`` makes the sample repeatable. EM trains on at most ``em_pairs``
    pairs of a rule (Splink samples records to that size). ``estimate_prior`` takes the
    probability that two random records match from EM instead of Splink's 1e-4.
    ``prior_matches`` is the strength of the Dirichlet prior on m (``em``; 0 is
    Splink's own estimate). ``name_levels`` are the ways first names count as one name
    (``names.NAME_LEVELS``; none drops the level). ``engine`` runs Splink on DuckDB in this
    process or on Spark at ``spark_master`` (``crmos.identity.matching.spark``).
    """

    threshold: float = 0.5
    pair_budget: float = 25.0
    min_pairs: int = 300_000
    u_per_record: float = 25.0
    u_pairs: tuple[float, float] = (2.5e5, 2e6)
    em_pairs: float = 400_000
    seed: int = 42
    evidence: bool = False
    estimate_prior: bool = True
    prior_matches: float = em.PRIOR_MATCHES
    name_levels: tuple[str, ...] = tuple(NAME_LEVELS)
    engine: MatchEngine = "duckdb"
    spark_master: str = "local[*]"


@dataclass(frozen=True, slots=True)
class ChosenRule:
    """A blocking rule kept for prediction, with the pairs it makes."""

    rule: BlockingRule
    pairs: int


M_FLOOR = 1e-6
"""The least m a level keeps after EM (Splink's own m for a level never observed): on a few
hundred records EM can push m towards 1e-300, a veto of -800 bits that breaks later SQL."""


def _degenerate(exc: Exception) -> bool:
    """Whether an EM failure comes from m values collapsing to zero (small data)."""
    text = str(exc)
    return "below the minimum allowed" in text or "__splink__m_u_counts" in text


def count_pairs(con: duckdb.DuckDBPyConnection, tables: Sequence[str], rule: BlockingRule) -> int:
    """How many pairs ``rule`` makes (before Splink removes pairs an earlier rule made)."""
    if rule.swap:
        a, b = rule.keys
        left, right = (tables[0], tables[-1])
        sql = f"select count(*) from {left} l join {right} r on l.{a} = r.{b} and l.{b} = r.{a}"
        total = scalar(con, sql)
        return total if len(tables) == 2 else total // 2
    keys = ", ".join(rule.keys)
    present = " and ".join(f"{k} is not null" for k in rule.keys)
    groups = [
        f"(select {keys}, count(*) as n from {t} where {present} group by all)" for t in tables
    ]
    if len(tables) == 1:
        sql = f"select coalesce(sum(n * (n - 1) / 2), 0) from {groups[0]}"
    else:
        on = " and ".join(f"a.{_alias(i)} = b.{_alias(i)}" for i in range(len(rule.keys)))
        named = [g.replace(f"select {keys},", f"select {_aliased(rule.keys)},") for g in groups]
        sql = f"select coalesce(sum(a.n * b.n), 0) from {named[0]} a join {named[1]} b on {on}"
    return scalar(con, sql)


def _alias(i: int) -> str:
    return f"k{i}"


def _aliased(keys: Sequence[str]) -> str:
    return ", ".join(f"{k} as {_alias(i)}" for i, k in enumerate(keys))


def choose_rules(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    plan: MatchPlan,
    budget: int,
) -> list[ChosenRule]:
    """The candidate rules that fit ``budget`` pairs each, narrowing those that do not."""
    chosen: list[ChosenRule] = []
    for rule in plan.blocking:
        fitted = _fit(con, tables, rule, plan.refiners, budget)
        if fitted is not None and fitted.rule not in {c.rule for c in chosen}:
            chosen.append(fitted)
    return chosen


def _fit(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    rule: BlockingRule,
    refiners: Sequence[tuple[str, str]],
    budget: int,
) -> ChosenRule | None:
    pairs = count_pairs(con, tables, rule)
    if pairs <= budget:
        return ChosenRule(rule, pairs) if pairs else None
    if rule.swap:
        return None
    for key, column in refiners:
        if column in rule.columns:
            continue
        narrower = rule.refined(key, column)
        pairs = count_pairs(con, tables, narrower)
        if 0 < pairs <= budget:
            return ChosenRule(narrower, pairs)
    return None


EM_MIN_PAIRS = 20
"""The fewest pairs an EM session trains on (the Dirichlet prior keeps small ones sane)."""

SURE_RECALL = 0.5
"""The share of true matches :func:`sure_rules` are assumed to find (Splink's ``recall``)."""


def sure_rules(plan: MatchPlan) -> list[BlockingRule]:
    """Deterministic rules: the full name and the birth date agree exactly.

    The pairs they make are the near-certain matches Splink's direct prior estimate counts.
    """
    fore, sur, dates = (plan.columns_of(k) for k in ("forename", "surname", "date"))
    if not (fore and sur and dates):
        return []
    keys = (fore[0], sur[0], dates[0])
    return [BlockingRule(keys, keys)]


def em_rules(
    rules: Sequence[ChosenRule], comparisons: Sequence[ComparisonSpec]
) -> list[ChosenRule]:
    """Rules to train m on, so that each comparison is left free by at least one.

    EM cannot estimate a comparison that reads a column its blocking rule fixes.
    """
    untrained = {c.name: set(c.columns) for c in comparisons}
    picked: list[ChosenRule] = []
    for chosen in rules:
        if chosen.rule.swap or chosen.pairs < EM_MIN_PAIRS:
            continue
        blocked = set(chosen.rule.columns)
        freed = {name for name, cols in untrained.items() if not cols & blocked}
        if freed:
            picked.append(chosen)
            untrained = {k: v for k, v in untrained.items() if k not in freed}
        if not untrained:
            break
    return picked


@dataclass(slots=True)
class SplinkRun:
    """One Splink model over registered DuckDB tables: train, then predict."""

    con: duckdb.DuckDBPyConnection
    tables: tuple[str, ...]
    plan: MatchPlan
    options: EngineOptions
    rules: list[ChosenRule]
    id_column: str
    linker: Linker | None = None
    skipped_sessions: list[str] = field(default_factory=list)
    spark: SparkFrames | None = None

    @property
    def link_type(self) -> LinkType:
        """``dedupe_only`` for one table, ``link_only`` for two."""
        return "dedupe_only" if len(self.tables) == 1 else "link_only"

    def build(self, override: dict[str, Any] | None = None) -> Linker:
        """The linker, from the plan or from a Splink settings dict given by the user."""
        db: DuckDBAPI | Any
        if self.options.engine == "spark":
            from splink.backends.spark import SparkAPI

            self.spark = SparkFrames(self.con, self.options.spark_master)
            db = SparkAPI(  # type: ignore[no-untyped-call]
                spark_session=self.spark.spark, break_lineage_method=self.spark.break_lineage
            )
            frames = [
                db.register(self.spark.to_spark(t), dataset_display_name=t) for t in self.tables
            ]
        else:
            db = DuckDBAPI(connection=self.con)
            frames = [db.register(t, dataset_display_name=t) for t in self.tables]
        settings: SettingsCreator | dict[str, Any]
        if override is not None:
            settings = {**override, "link_type": self.link_type}
            settings.setdefault("unique_id_column_name", self.id_column)
        else:
            settings = self._settings(self.id_column)
        self.linker = Linker(frames, settings, log_level=None)
        return self.linker

    def _settings(self, id_column: str) -> SettingsCreator:
        engine = self.options.engine
        return SettingsCreator(
            link_type=self.link_type,
            unique_id_column_name=id_column,
            comparisons=[comparison_for(c, self._sounds(c), engine) for c in self.plan.comparisons],
            blocking_rules_to_generate_predictions=[CustomRule(c.rule.sql()) for c in self.rules],
            retain_matching_columns=self.options.evidence,
            retain_intermediate_calculation_columns=self.options.evidence,
        )

    def _sounds(self, spec: ComparisonSpec) -> bool:
        """Whether ``spec`` is a person's name whose first names call for the level of
        names in other forms (``names.needs_name_level``)."""
        levels = self.options.name_levels
        if spec.kind != "person_name" or not needs_name_level(
            self.con, self.tables, spec.columns[0], levels
        ):
            return False
        if self.spark is not None:
            self.spark.register_function(ONE_NAME, one_name_of(levels))
        else:
            register_one_name(self.con, levels)
        return True

    def local(self, frame: SplinkDataFrame) -> str:
        """The name of a DuckDB table or view on the run's connection holding ``frame``."""
        return self.spark.to_duckdb(frame) if self.spark is not None else frame.physical_name

    def close(self) -> None:
        """Remove what the run left outside its DuckDB connection (Spark's Parquet files)."""
        if self.spark is not None:
            self.spark.close()

    def train(self) -> None:
        """u by seeded random sampling; m by EM (Dirichlet prior); the prior within bounds.

        The prior comes from the sessions that trained: when the last one fails, from the
        ones before it (rather than Splink's default of 1e-4, far too low for a few hundred
        profiles, where it hides every match); then it is kept between Splink's direct
        estimate (:meth:`_floor_prior`) and what the data allows (:meth:`_cap_prior`).
        """
        linker = self._linker()
        opts = self.options
        linker.training.estimate_u_using_random_sampling(max_pairs=self.u_pairs(), seed=opts.seed)
        sessions = em_rules(self.rules, self.plan.comparisons)
        trained = [
            self._session(linker, chosen, i == len(sessions) - 1)
            for i, chosen in enumerate(sessions)
        ]
        if opts.estimate_prior and any(trained) and not trained[-1]:
            # What the last session would have done: the prior from every session that trained.
            em.prior_from_sessions(linker)
        if opts.estimate_prior:
            self._floor_prior(linker)
            self._cap_prior(linker)

    def _session(self, linker: Linker, chosen: ChosenRule, last: bool) -> bool:
        """One EM session blocked on ``chosen``; whether it trained."""
        cap = self.options.em_pairs if chosen.pairs > self.options.em_pairs else None
        # A session takes the comparisons its rule fixes out of the linker's model and puts
        # them back only when it succeeds: keep a copy to restore on failure.
        saved = em.model_snapshot(linker)
        try:
            with em.smoothed_m(self.options.prior_matches):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    chosen.rule.sql(),
                    estimate_without_term_frequencies=True,
                    max_pairs=cap,
                    populate_probability_two_random_records_match_from_trained_values=(
                        self.options.estimate_prior and last
                    ),
                )
        except (ValueError, SplinkException) as exc:
            # On a few hundred records EM can drive a level's m to zero, which Splink
            # refuses; that session teaches nothing, the others and the defaults stand.
            if not _degenerate(exc):
                raise
            em.restore_model(linker, saved)
            self.skipped_sessions.append(chosen.rule.label)
            return False
        finally:
            em.floor_m(linker, M_FLOOR)
        return True

    def _floor_prior(self, linker: Linker) -> None:
        """Raise the prior to what near-certain pairs alone show, when EM says less.

        Splink's direct estimate (``estimate_probability_two_random_records_match``): pairs
        that deterministic rules (:func:`sure_rules`) find, over all pairs, divided by the
        share of true matches those rules are expected to find. On a few hundred records EM
        can fail, or leave Splink's default of 1e-4, which hides every match.
        """
        rules = sure_rules(self.plan)
        if not rules:
            return
        sure = sum(count_pairs(self.con, self.tables, r) for r in rules)
        sizes = [scalar(self.con, f"select count(*) from {t}") for t in self.tables]
        total = sizes[0] * sizes[1] if len(sizes) == 2 else sizes[0] * (sizes[0] - 1) // 2
        floor = sure / SURE_RECALL / max(1, total)
        em.set_prior(linker, max(em.prior(linker), floor))

    def _cap_prior(self, linker: Linker) -> None:
        """Keep the EM prior under what the data allows.

        EM's estimate of the probability that two random records match is good on large
        data and wild on a few hundred records (0.9 was seen). Matches cannot outnumber the
        records of the smaller file when linking, nor ``MAX_DUPLICATES`` per record when
        deduplicating, which bounds the prior.
        """
        sizes = [scalar(self.con, f"select count(*) from {t}") for t in self.tables]
        linking = len(sizes) == 2
        bound = 1 / max(1, min(sizes)) if linking else MAX_DUPLICATES / max(1, sizes[0] - 1)
        em.set_prior(linker, min(em.prior(linker), bound))

    def u_pairs(self) -> float:
        """Random pairs for u: ``u_per_record`` per record, within the ``u_pairs`` bounds."""
        records = sum(scalar(self.con, f"select count(*) from {t}") for t in self.tables)
        low, high = self.options.u_pairs
        return min(high, max(low, self.options.u_per_record * records))

    def predict(self, threshold: float | None = None) -> SplinkDataFrame:
        """Scored pairs at or above ``threshold`` (default: the options' threshold)."""
        cut = self.options.threshold if threshold is None else threshold
        return self._linker().inference.predict(
            threshold_match_probability=cut, warning_mode="never"
        )

    def cluster(self, predictions: SplinkDataFrame, threshold: float) -> SplinkDataFrame:
        """Connected components of the pairs at or above ``threshold``."""
        return self._linker().clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )

    def model(self) -> dict[str, Any]:
        """The trained model as Splink's settings dict (levels, m and u)."""
        return self._linker().misc.save_model_to_json()

    def _linker(self) -> Linker:
        if self.linker is None:
            raise RuntimeError("build() the linker first")
        return self.linker
