"""Guards on batch merges: pairs the model scores high that a person should still look at.

Splink weighs each comparison on its own, so two relatives sharing a family name, a home and
(twins) a birthday can outscore a first name that disagrees. A pair whose first names clearly
differ never merges automatically, nor does a record that fits two such relatives equally;
they go to the review queue with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from difflib import SequenceMatcher
from itertools import combinations

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

    Alike: a difflib ratio of at least ``SIMILAR``, or two neighbouring letters after the
    first swapped (``Ana``, ``Aan``), the commonest slip of the keyboard, which the ratio
    undervalues in short names (typists rarely get the first letter wrong, so a swap there
    does not count).
    """
    a, b = a.strip().casefold(), b.strip().casefold()
    if a == b or a.startswith(b) or b.startswith(a) or _transposed(a, b):
        return True
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


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
) -> set[str]:
    """Records that ``pairs`` (the sure ones) tie to two records whose first names clash.

    A record without a first name matching both of two twins fits either: merging it with
    one would be a coin toss, so it goes to review.
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
            forename_clash(traits[y], traits[z], columns)
            for y, z in combinations(sorted(others), 2)
        )
    }
