"""Guards on batch merges: pairs the model scores high that a person should still look at.

Splink weighs each comparison on its own, so two relatives sharing a family name, a home and
(twins) a birthday can outscore a first name that disagrees. A pair whose first names clearly
differ never merges automatically, nor does a record that fits two such relatives equally;
they go to the review queue with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from difflib import SequenceMatcher
from itertools import combinations

from pypinyin import lazy_pinyin

SIMILAR = 0.75
"""Names at least this alike (difflib ratio, case-folded) count as one name mistyped."""


def forename_clash(
    left: Mapping[str, str], right: Mapping[str, str], columns: Sequence[str]
) -> list[str]:
    """The forename ``columns`` on which both records have a value and the values differ.

    A short form of the other (``Max``, ``Maximilian``) or a typo does not count.
    """
    return [
        c for c in columns if left.get(c) and right.get(c) and not similar_names(left[c], right[c])
    ]


def similar_names(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` can be one name: equal, one the start of the other, or alike.

    Alike: a difflib ratio of at least ``SIMILAR``, two neighbouring letters after the
    first swapped (``Ana``, ``Aan``), the commonest slip of the keyboard, which the ratio
    undervalues in short names (typists rarely get the first letter wrong, so a swap there
    does not count), or two Chinese names that sound the same (``思远``, ``思元``).
    """
    a, b = a.strip().casefold(), b.strip().casefold()
    if a == b or a.startswith(b) or b.startswith(a) or _transposed(a, b) or homophones(a, b):
        return True
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


def homophones(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are Chinese names (all Han characters) with the same pinyin.

    Names are mostly keyed from speech (a call centre, a till) through a pinyin input
    method, which offers every character of the sound: picking ``元`` for ``远`` is the
    commonest Chinese typo. Tones are ignored (the input method ignores them too).
    """
    if len(a) != len(b) or not (_han(a) and _han(b)):
        return False
    return bool(lazy_pinyin(a) == lazy_pinyin(b))


def _han(text: str) -> bool:
    """Whether ``text`` is non-empty and only CJK unified ideographs."""
    return bool(text) and all(
        "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text
    )


def _transposed(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with two neighbouring characters after the first swapped."""
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (
        len(diff) == 2
        and 0 < diff[0] == diff[1] - 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def torn(
    pairs: Iterable[tuple[str, str]],
    traits: Mapping[str, Mapping[str, str]],
    columns: Sequence[str],
    dates: Sequence[str] = (),
) -> set[str]:
    """Records that ``pairs`` (the sure ones) tie to two records of clearly different people.

    Clearly different: first names (``columns``) that clash, or birth dates (``dates``) that
    differ other than by the day and month swapped. A record without a first name matching
    both of two twins, or one without a birthday matching two namesakes, fits either:
    merging it with one would be a coin toss, so it goes to review.
    """
    partners: dict[str, set[str]] = {}
    for a, b in pairs:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return {
        record
        for record, others in partners.items()
        if len(others) > 1
        and any(
            forename_clash(traits[y], traits[z], columns) or date_clash(traits[y], traits[z], dates)
            for y, z in combinations(sorted(others), 2)
        )
    }


def date_clash(
    left: Mapping[str, str], right: Mapping[str, str], columns: Sequence[str]
) -> list[str]:
    """The date ``columns`` on which both records have a value and the dates differ.

    Dates made of the same numbers (``1990-03-05``, ``1990-05-03``: day and month swapped)
    do not count.
    """
    return [
        c
        for c in columns
        if left.get(c)
        and right.get(c)
        and sorted(re.findall(r"\d+", left[c])) != sorted(re.findall(r"\d+", right[c]))
    ]
