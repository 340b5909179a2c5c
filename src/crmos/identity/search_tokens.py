"""The blind index's tokens: what a profile is findable by, and what a query looks for.

Pure. Text is normalised (NFKC, case-folded) and cut into words; a word is findable by itself
and by its prefixes from ``PREFIX_MIN`` characters up to ``WORD_CAP`` (a longer query word is
cut to the cap, so it still meets the stored prefix). Han, kana and hangul runs have no spaces
between words: each character and each adjacent pair is a token, so 王 and 王伟 both find 王伟.
E-mail addresses are findable by their prefixes as a whole (``ali``, ``alice@exa``) and by their
words; phone numbers by their digits in international and national form. Every token is then
hashed with HMAC-SHA256 under the workspace's search key and cut to ``DIGEST_BYTES``: the
index stores no clear text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import phonenumbers

PREFIX_MIN = 2
WORD_CAP = 12
EMAIL_MIN = 3
EMAIL_CAP = 24
DIGEST_BYTES = 16
MAX_TOKENS = 600
"""Tokens per profile at most: a profile with endless traits cannot swell the index."""
VALUE_CAP = 200
"""Characters of one value that are indexed."""
TOUCHPOINT = "\x00touchpoint\x00"
"""Prefix of facet tokens (a NUL never survives text normalisation, so no word collides)."""

_WORD = re.compile(r"[^\W_]+")
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+)")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{6,}$")
_DIGITS = re.compile(r"\D")
NAME_TRAITS = ("name", "first_name", "last_name", "firstName", "lastName", "username", "title")
"""Trait names shown as a person's name, in order of preference after ``name``."""


def fold(text: str) -> str:
    """``text`` in the form tokens are made from: NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _word_tokens(word: str, out: set[str]) -> None:
    for part in _CJK.split(word):
        if not part:
            continue
        if _CJK.fullmatch(part):
            out.update(part)
            out.update(part[i : i + 2] for i in range(len(part) - 1))
        else:
            out.update(part[:n] for n in range(PREFIX_MIN, min(len(part), WORD_CAP) + 1))
            out.add(part)


def text_tokens(text: str) -> set[str]:
    """Tokens of free text: each word, its prefixes, CJK characters and pairs."""
    out: set[str] = set()
    for word in _WORD.findall(fold(text[:VALUE_CAP])):
        _word_tokens(word, out)
    return out


def email_tokens(address: str) -> set[str]:
    """Tokens of an e-mail address: its prefixes as a whole, then its words."""
    folded = fold(address[:VALUE_CAP])
    out = {folded[:n] for n in range(EMAIL_MIN, min(len(folded), EMAIL_CAP) + 1)}
    out.add(folded)
    return out | text_tokens(folded)


def phone_tokens(e164: str) -> set[str]:
    """Tokens of a phone number in E.164: its digits, and its national number with and
    without the trunk prefix ``0``."""
    digits = _DIGITS.sub("", e164)
    out = {digits}
    try:
        number = phonenumbers.parse(e164 if e164.startswith("+") else "+" + digits)
    except phonenumbers.NumberParseException:
        return out
    national = phonenumbers.national_significant_number(number)
    return out | {national, "0" + national}


def identifier_tokens(kind: str, value: str) -> set[str]:
    """Tokens of a normalised identifier of type ``kind``."""
    if kind == "email":
        return email_tokens(value)
    if kind == "phone":
        return phone_tokens(value)
    return {fold(value[:VALUE_CAP])} | text_tokens(value)


def trait_tokens(traits: dict[str, Any]) -> set[str]:
    """Tokens of a profile's trait values (strings, and a ``company``'s name)."""
    out: set[str] = set()
    for name, value in traits.items():
        if isinstance(value, dict):
            value = value.get("name")
        if not isinstance(value, str) or not value.strip():
            continue
        if name == "email" or "@" in value:
            out |= email_tokens(value)
        else:
            out |= text_tokens(value)
    return out


def touchpoint_token(source: str) -> str:
    """The facet token of a touchpoint (the filter, not a search word)."""
    return TOUCHPOINT + source


def query_terms(query: str) -> list[set[str]]:
    """A search query as terms that must all match, each a set of alternative tokens.

    A query that reads as a phone number is one term (its digits, with and without a trunk
    ``0``); otherwise each whitespace-separated part with ``@`` is an e-mail prefix and the
    rest are words (CJK runs become their characters or pairs).
    """
    text = fold(query)
    if _PHONE.match(text) and len(digits := _DIGITS.sub("", text)) >= 6:
        return [{digits, digits.lstrip("0") or digits}]
    terms: list[set[str]] = []
    for part in text.split():
        if "@" in part:
            terms.append({part[:EMAIL_CAP]})
            continue
        for word in _WORD.findall(part):
            terms.extend(_word_terms(word))
    return terms


def _word_terms(word: str) -> list[set[str]]:
    terms: list[set[str]] = []
    for part in _CJK.split(word):
        if not part:
            continue
        if _CJK.fullmatch(part) and len(part) > 1:
            terms.extend({part[i : i + 2]} for i in range(len(part) - 1))
        else:
            terms.append({part[:WORD_CAP]})
    return terms


def blind(key: bytes, tokens: Iterable[str]) -> list[bytes]:
    """Each token's HMAC-SHA256 under ``key``, cut to ``DIGEST_BYTES``, sorted and unique."""
    return sorted(
        {hmac.new(key, t.encode(), hashlib.sha256).digest()[:DIGEST_BYTES] for t in tokens}
    )
