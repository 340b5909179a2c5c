"""What crmos relies on in Splink: fails loudly, by name, when a Splink upgrade moves it.

``crmos.identity.matching.em`` is the one module that reaches past Splink's public API (see its
docstring). These tests check each internal it uses, and a small training run whose parameters
were recorded with Splink 5.0.0: if an upgrade changes them, read Splink's changelog for the
M-step, the prior and the model settings, adapt ``em``, and record the new figures here.
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Iterator
from contextlib import closing
from importlib.resources import files
from typing import Any

import pyarrow as pa
import pytest
from splink import Linker
from splink.internals import expectation_maximisation as splink_em
from splink.internals.comparison_level import ComparisonLevel
from splink.internals.settings import CoreModelSettings, Settings
from splink.internals.splink_dataframe import SplinkDataFrame

from crmos.identity.matching import em
from crmos.identity.matching.files import build_run
from crmos.identity.matching.frames import connect, profiles
from crmos.identity.matching.model import infer_plan
from crmos.identity.matching.overrides import Overrides
from crmos.identity.matching.splink import EngineOptions, SplinkRun

COLUMNS = ("first_name", "surname", "date_of_birth", "postcode")

# m and u of every level, as Splink 5.0.0 trains the records of ``_people`` (None: not trained).
# The m values under 0.06 of levels few matches reach come from the prior on m: Splink's own
# M-step leaves them near zero.
RECORDED: dict[str, list[tuple[float | None, float | None]]] = {
    "first_name_surname": [
        (None, None),
        (0.636267139, 0.010341952),
        (None, None),
        (0.173549941, 0.001334445),
        (0.173580454, 0.000834028),
        (None, 0.089074229),
        (None, 0.047372811),
        (0.016602467, 0.851042535),
    ],
    "date_of_birth": [
        (None, None),
        (0.912454345, 0.005170976),
        (None, 0.001501251),
        (0.057240086, 0.000166806),
        (None, 0.001000834),
        (0.009731557, 0.040366972),
        (0.009993368, 0.333611343),
        (0.010580643, 0.618181818),
    ],
    "postcode": [
        (None, None),
        (0.971182847, 0.004271015),
        (None, 0.000970685),
        (None, 0.012424772),
        (0.028817153, 0.982333527),
    ],
}
RECORDED_PRIOR = 0.014071552270775384
RECORDED_PAIRS = 30  # the 30 planted duplicates, at p >= 0.5


def _people() -> list[dict[str, Any]]:
    """80 people and 30 copies with a typo, a missing postcode or day and month swapped."""
    rng = random.Random(15)
    forenames = "anna ben chen dora emil fatima george hana ivan julia karl lena marco nina omar"
    surnames = "smith wang muller rossi silva kim novak garcia brown li"
    rows: list[dict[str, Any]] = [
        {
            "first_name": rng.choice([*forenames.split(), "paula"]),
            "surname": rng.choice(surnames.split()),
            "date_of_birth": f"19{rng.randrange(50, 99)}-{rng.randrange(1, 13):02d}-"
            f"{rng.randrange(1, 29):02d}",
            "postcode": f"{rng.randrange(10, 99)}{rng.randrange(100, 999)}",
        }
        for _ in range(80)
    ]
    for i in range(30):
        copy = dict(rows[i])
        if i % 3 == 0:
            copy["first_name"] = copy["first_name"][:-1] + "x"
        if i % 4 == 1:
            copy["postcode"] = None
        if i % 5 == 2:
            y, m, d = copy["date_of_birth"].split("-")
            copy["date_of_birth"] = f"{y}-{d}-{m}" if int(d) <= 12 else f"{y}-{m}-{d}"
        rows.append(copy)
    return rows


@pytest.fixture(scope="module")
def trained() -> Iterator[tuple[SplinkRun, int]]:
    """The tiny dedupe, trained as crmos trains, and how often the prior on m was computed."""
    calls = 0
    smoothed = em.smoothed_proportions

    def counted(records: list[dict[str, Any]], strength: float) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        return smoothed(records, strength)

    rows = _people()
    data = {"rec_id": [str(i) for i in range(len(rows))]} | {
        c: [r[c] for r in rows] for c in COLUMNS
    }
    with pytest.MonkeyPatch.context() as patch, closing(connect()) as con:
        patch.setattr(em, "smoothed_proportions", counted)
        con.register("records", pa.table(data))
        con.execute("create table raw_0 as select * from records").fetchall()
        plan = infer_plan(profiles(con, ["raw_0"], list(COLUMNS)), "rec_id")
        run, _ = build_run(con, ["raw_0"], ["t_0"], "rec_id", plan, EngineOptions(), Overrides())
        yield run, calls


def test_splinks_em_loop_still_looks_up_the_m_step_crmos_replaces() -> None:
    params = list(inspect.signature(splink_em.compute_proportions_for_new_parameters).parameters)
    assert params == ["df_params"], "Splink's M-step takes other arguments: adapt em._proportions"
    names = splink_em.expectation_maximisation.__code__.co_names
    assert "compute_proportions_for_new_parameters" in names, (
        "Splink's EM loop no longer calls compute_proportions_for_new_parameters by its module "
        "name, so em.smoothed_m would silently change nothing"
    )
    sql = splink_em.compute_new_parameters_sql(True, [])
    for column in ("comparison_vector_value", "output_column_name", "m_count", "u_count"):
        assert column in sql, f"Splink's m/u counts lost {column!r}: adapt em.smoothed_proportions"
    assert "'_probability_two_random_records_match'" in sql


def test_splinks_m_step_still_reads_the_rows_crmos_computes_from_its_counts() -> None:
    # em._proportions returns rows Splink's maximisation step turns into m and u; if the
    # step takes other arguments or reads other keys, the prior on m silently stops working.
    params = list(inspect.signature(splink_em.maximisation_step).parameters)
    assert params == ["training_fixed_probabilities", "core_model_settings", "param_records"], (
        "Splink's M-step signature changed: adapt em._proportions and em.smoothed_proportions"
    )
    loop = splink_em.expectation_maximisation.__code__.co_names
    assert "maximisation_step" in loop, "Splink's EM loop no longer calls maximisation_step"
    reads = "".join(
        inspect.getsource(f)
        for f in (
            splink_em.maximisation_step,
            splink_em.m_u_records_to_lookup_dict,
            splink_em.populate_m_u_from_lookup,
        )
    )
    for key in ("output_column_name", "comparison_vector_value", "m_probability", "u_probability"):
        assert f'"{key}"' in reads, f"Splink's M-step no longer reads {key!r}"
    # The counts are read through Splink's public frame API, on every backend.
    assert list(inspect.signature(SplinkDataFrame.as_record_list).parameters) == ["self", "limit"]


def test_the_prior_on_m_keeps_an_unobserved_level_off_zero() -> None:
    keys = ("comparison_vector_value", "output_column_name", "m_count", "u_count")
    lam_name = "_probability_two_random_records_match"
    counts = [
        dict(zip(keys, row, strict=True))
        for row in ((1, "name", 40.0, 1.0), (0, "name", 0.0, 99.0), (0, lam_name, 0.3, 0.7))
    ]
    plain = {(r["output_column_name"], r["comparison_vector_value"]): r for r in counts}
    smoothed = em.smoothed_proportions(counts, strength=2.0)
    by_level = {(r["output_column_name"], r["comparison_vector_value"]): r for r in smoothed}
    assert by_level[("name", 0)]["m_probability"] == pytest.approx(1 / 42)
    assert by_level[("name", 1)]["m_probability"] == pytest.approx(41 / 42)
    assert by_level[("name", 0)]["u_probability"] == pytest.approx(0.99)
    lam = (lam_name, 0)
    assert by_level[lam]["m_probability"] == plain[lam]["m_count"]


def test_the_linker_still_keeps_its_model_where_em_reads_and_writes_it(
    trained: tuple[SplinkRun, int],
) -> None:
    populate = Linker._populate_probability_two_random_records_match_from_trained_values
    assert list(inspect.signature(populate).parameters) == ["self"]
    prior = inspect.getattr_static(Settings, "_probability_two_random_records_match")
    assert isinstance(prior, property) and prior.fset is not None
    m = inspect.getattr_static(ComparisonLevel, "m_probability")
    assert isinstance(m, property) and m.fset is not None
    assert isinstance(inspect.getattr_static(ComparisonLevel, "is_null_level"), property)
    run, _ = trained
    assert run.linker is not None
    settings = run.linker._settings_obj
    assert isinstance(settings, Settings)
    assert isinstance(settings.core_model_settings, CoreModelSettings)
    levels = [lv for c in settings.comparisons for lv in c.comparison_levels]
    assert levels and all(hasattr(lv, "_m_probability") for lv in levels)


def test_a_tiny_training_run_gives_the_parameters_recorded_with_splink_5(
    trained: tuple[SplinkRun, int],
) -> None:
    run, calls = trained
    assert calls > 0, "Splink's EM never called crmos's M-step: the prior on m is not applied"
    assert run.skipped_sessions == []
    model = run.model()
    levels = {
        c["output_column_name"]: [
            (lv.get("m_probability"), lv.get("u_probability")) for lv in c["comparison_levels"]
        ]
        for c in model["comparisons"]
    }
    assert list(levels) == list(RECORDED)
    for name, want in RECORDED.items():
        assert len(levels[name]) == len(want), name
        for i, ((m, u), (want_m, want_u)) in enumerate(zip(levels[name], want, strict=True)):
            assert m == pytest.approx(want_m, abs=1e-6), f"m of {name} level {i}"
            assert u == pytest.approx(want_u, abs=1e-6), f"u of {name} level {i}"
    assert model["probability_two_random_records_match"] == pytest.approx(RECORDED_PRIOR, rel=1e-6)
    assert run.predict(0.5).as_pandas_dataframe().shape[0] == RECORDED_PAIRS


def test_the_prior_is_read_written_and_recomputed_from_the_trained_sessions(
    trained: tuple[SplinkRun, int],
) -> None:
    run, _ = trained
    assert run.linker is not None
    saved = em.model_snapshot(run.linker)
    try:
        em.set_prior(run.linker, 0.5)
        assert em.prior(run.linker) == 0.5
        assert run.model()["probability_two_random_records_match"] == 0.5
        em.prior_from_sessions(run.linker)
        assert em.prior(run.linker) == pytest.approx(RECORDED_PRIOR, rel=1e-6)
    finally:
        em.restore_model(run.linker, saved)


def test_no_module_but_em_reaches_into_splinks_training_internals() -> None:
    internal = re.compile(
        r"\._settings_obj|_populate_probability|internals(\.| import )expectation_maximisation"
    )
    root = files("crmos")
    found = [
        path
        for path in _python_files(root)
        if path.name != "em.py" and internal.search(path.read_text("utf-8"))
    ]
    assert found == [], "use crmos.identity.matching.em, the one Splink extension point"


def _python_files(folder: Any) -> Iterator[Any]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _python_files(entry)
        elif entry.name.endswith(".py"):
            yield entry
