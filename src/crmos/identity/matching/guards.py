"""Guards on batch merges: pairs the model scores high that a person should still look at.

Splink weighs each comparison on its own, so two relatives sharing a family name, a home and
(twins) a birthday can outscore a first name that disagrees. A pair whose first names clearly
differ never merges automatically, nor does a record that fits two such relatives equally,
nor two contacts of one account with different addresses at the same mail domain (namesake
colleagues); they go to the review queue with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from difflib import SequenceMatcher
from itertools import combinations

from pypinyin import lazy_pinyin

from crmos.identity.matching.given_names import english_nickname, same_reading

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
    does not count), two Chinese names that sound the same (``思远``, ``思元``), a pet
    form of the other (:func:`pet_name`), a listed English nickname (``Bill``, ``William``)
    or a Japanese name and its reading (``はると``, ``陽翔``) (``given_names``).
    """
    a, b = a.strip().casefold(), b.strip().casefold()
    if a == b or a.startswith(b) or b.startswith(a) or _transposed(a, b) or homophones(a, b):
        return True
    if pet_name(a, b) or english_nickname(a, b) or same_reading(a, b):
        return True
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


DIMINUTIVE_ENDINGS = ("ie", "i", "y")
"""Endings that make a short form a pet name in many European languages (Kathi, Andy)."""


def pet_name(a: str, b: str) -> bool:
    """Whether the shorter of two first names is a common pet form of the longer.

    Patterns, not a list: a short form plus a diminutive ending (``Luki``, ``Lukas``; the
    stem at least three letters), the end of the name (``Nanda``, ``Fernanda``; at least
    four letters), or in Chinese the last character doubled (``远远``, ``思远``).
    """
    a, b = a.strip().casefold(), b.strip().casefold()
    if _han(a) and _han(b):
        return any(len(x) == 2 and x[0] == x[1] == y[-1] != y[0] for x, y in ((a, b), (b, a)))
    short, long = sorted((a, b), key=len)
    if len(short) == len(long):
        return False
    for ending in DIMINUTIVE_ENDINGS:
        stem = short.removesuffix(ending)
        if stem != short and len(stem) >= 3 and long.startswith(stem):
            return True
    return len(short) >= 4 and long.endswith(short)


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
    emails: Sequence[str] = (),
    accounts: Mapping[str, str | None] | None = None,
) -> set[str]:
    """Records that ``pairs`` (the sure ones) tie to two records of clearly different people.

    Clearly different: first names (``columns``) that clash, birth dates (``dates``) that
    differ other than by the day and month swapped, or, within one of ``accounts``, two
    addresses at one mail domain (``emails``). A record without a first name matching both
    of two twins, or one without a birthday matching two namesakes, fits either: merging it
    with one would be a coin toss, so it goes to review.
    """
    account = accounts or {}

    def different(y: str, z: str) -> bool:
        left, right = traits[y], traits[z]
        if forename_clash(left, right, columns) or date_clash(left, right, dates):
            return True
        colleagues = account.get(y) is not None and account.get(y) == account.get(z)
        return colleagues and bool(mailbox_clash(left, right, emails))

    partners: dict[str, set[str]] = {}
    for a, b in pairs:
        # A pair of clearly different people never merges (it goes to review on its own),
        # so it ties nothing: a record sure of its twin's sibling is not torn by the twin.
        if different(a, b):
            continue
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)

    return {
        record
        for record, others in partners.items()
        if len(others) > 1 and any(different(y, z) for y, z in combinations(sorted(others), 2))
    }


def mailbox_clash(
    left: Mapping[str, str], right: Mapping[str, str], columns: Sequence[str]
) -> list[str]:
    """The e-mail ``columns`` holding two different addresses of one mail domain.

    Meant for two contacts of one account: a company's domain gives each person one
    mailbox, and a second person of the same name gets a numbered one (``ting.liu1@``), so
    two addresses there are two colleagues far more often than one person twice.
    """
    out = []
    for c in columns:
        a, b = (left.get(c, "").strip().casefold(), right.get(c, "").strip().casefold())
        if "@" in a and "@" in b and a != b and a.rsplit("@", 1)[1] == b.rsplit("@", 1)[1]:
            out.append(c)
    return out


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
