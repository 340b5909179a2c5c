"""The comparisons of a match plan as Splink builds them, in each engine's SQL.

Splink's comparison library where it fits; custom levels (day and month swapped, an address
over its parts) where it does not, written with :func:`side_column` so that the same level
reads as DuckDB's or Spark's SQL.
"""

from __future__ import annotations

from typing import Any, Literal

import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from crmos.identity.matching.model import ComparisonSpec
from crmos.identity.matching.names import person_name_comparison

MatchEngine = Literal["duckdb", "spark"]


def comparison_for(
    spec: ComparisonSpec, sounds: bool = False, engine: MatchEngine = "duckdb"
) -> ComparisonCreator:
    """The Splink comparison for one :class:`ComparisonSpec`.

    ``sounds``: a person's name gets the level for first names that sound alike or are pet
    forms (``names``). ``engine`` names the SQL functions custom levels call.
    """
    col, kind = spec.columns[0], spec.kind
    if kind == "person_name":
        return person_name_comparison(spec.columns[0], spec.columns[1], sounds, engine)
    if kind == "address":
        return address_comparison(spec, engine)
    if kind in ("forename", "surname", "name"):
        return cl.NameComparison(col).configure(term_frequency_adjustments=True)
    if kind == "date":
        return date_comparison(col, engine)
    if kind == "phone":
        # One digit apart is a typo; two apart is mostly another line of the same exchange.
        return cl.DamerauLevenshteinAtThresholds(col, [1])
    if kind in ("postcode", "identifier"):
        out = cl.DamerauLevenshteinAtThresholds(col, [1, 2])
        return out.configure(term_frequency_adjustments=True) if kind == "postcode" else out
    if kind == "email":
        # Exact only: addresses one edit or one domain apart are mostly namesakes
        # (jing.zhang@ and jing.zhang1@), and the user name repeats the name comparison.
        return cl.ExactMatch(col)
    if kind in ("address", "locality", "text"):
        return cl.JaroWinklerAtThresholds(col, [0.92, 0.8]).configure(
            term_frequency_adjustments=True
        )
    return cl.ExactMatch(col).configure(term_frequency_adjustments=True)


def side_column(name: str, side: str, engine: MatchEngine = "duckdb") -> str:
    """``name`` of the left or right record (``side``), quoted as ``engine``'s SQL quotes."""
    quote = "`" if engine == "spark" else '"'
    return f"{quote}{name}_{side}{quote}"


def _eq(c: str, engine: MatchEngine) -> str:
    return f"{side_column(c, 'l', engine)} = {side_column(c, 'r', engine)}"


def date_comparison(col: str, engine: MatchEngine = "duckdb") -> ComparisonCreator:
    """Splink's date-of-birth levels, plus day and month swapped (``05/03`` for ``03/05``).

    The swap is the commonest slip with dates (a form in the other order, a caller reading
    the day first); without its own level it falls in "within a year", a weak agreement.
    """
    levels: list[ComparisonLevelCreator | dict[str, Any]] = list(
        cl.DateOfBirthComparison(col, input_is_string=False).create_comparison_levels()
    )
    left, right = side_column(col, "l", engine), side_column(col, "r", engine)
    swapped = (
        f"year({left}) = year({right}) and month({left}) = day({right})"
        f" and day({left}) = month({right})"
    )
    levels.insert(3, {"sql_condition": swapped, "label_for_charts": "day and month swapped"})
    return cl.CustomComparison(levels, output_column_name=col)


_JARO_WINKLER = {"duckdb": "jaro_winkler_similarity", "spark": "jaro_winkler"}
"""The Jaro-Winkler similarity in each engine's SQL (Spark's comes from Splink's jar)."""


def address_comparison(spec: ComparisonSpec, engine: MatchEngine = "duckdb") -> ComparisonCreator:
    """One comparison over an address's parts: the more parts agree, the higher the level."""
    number, street, area = spec.parts
    present = [c for c in spec.parts if c]

    def l(c: str) -> str:  # noqa: E743 - l and r are Splink's names for the two records
        return side_column(c, "l", engine)

    def r(c: str) -> str:
        return side_column(c, "r", engine)

    nulls = " and ".join(f"({l(c)} is null or {r(c)} is null)" for c in present)
    levels: list[ComparisonLevelCreator | dict[str, Any]] = [
        {"sql_condition": nulls, "label_for_charts": "address is null", "is_null_level": True}
    ]

    def level(label: str, *conditions: str) -> None:
        levels.append({"sql_condition": " and ".join(conditions), "label_for_charts": label})

    def eq(c: str) -> str:
        return _eq(c, engine)

    level("same address", *(eq(c) for c in present))
    if number and street and area:
        level("same street and area, other house number", eq(street), eq(area))
        fuzzy = f"damerau_levenshtein({l(area)}, {r(area)}) <= 1"
        level("same house number and street, area one edit apart", eq(number), eq(street), fuzzy)
    if street and area:
        similar = f"{_JARO_WINKLER[engine]}({l(street)}, {r(street)}) >= 0.88"
        level("similar street in the same area", similar, eq(area))
    if area:
        level("same area", eq(area))
    levels.append({"sql_condition": "ELSE", "label_for_charts": "different address"})
    return cl.CustomComparison(levels, output_column_name="address")
