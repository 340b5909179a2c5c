"""Negation scope for the intent model: "we won't renew" is not renewal interest.

Word and character n-grams see "renewing" whether or not it is negated. This module marks the
words that follow a negator (``not``, ``no longer``, ``won't``, ``stop`` ...; 不、没、别、不再、
停止、取消 ...) up to the next punctuation mark, as ``neg_<stem>`` tokens (Chinese: the character
bigrams after the negator), and reports which concept cue groups are negated, either by a
negator shortly before the cue, or in Chinese also shortly after it (续费先停掉、续签就算了).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crmos.agent.text import stem

SCOPE_WORDS = 3  # English words after a negator that are in its scope
SCOPE_CHARS = 4  # Chinese characters after a negator that are in its scope
CUE_BEFORE = {"en": 28, "zh": 4}  # how far before a cue a negator negates it (characters)
CUE_AFTER_ZH = 6  # how far after a Chinese cue a negator negates it (续费先停掉)
_MARGIN = 8  # longer than any negator or set phrase

EN_NEGATOR = re.compile(
    r"\b(?:not|no|never|nobody|nothing|none|no longer|won't|wont|don't|dont|doesn't|didn't"
    r"|isn't|aren't|wasn't|cannot|can't|couldn't|shouldn't|wouldn't|stop|stopped|halt|cancel"
    r"|against|without|neither|nor|refuse|decline|declined)\b"
)
ZH_NEGATOR = re.compile(
    r"不再|不要|不用|不想|不打算|不会|无需|没有|没|别|未|停止|停掉|暂停|先停|停了|取消|放弃|算了|免了|先不|不"
)
# Not negations: question forms (能不能、有没有: A-not-A) and set phrases (不错、没问题 ...).
ZH_NOT_NEGATION = re.compile(r"不错|不少|不同|不过|不仅|不断|不管|不久|不客气|没问题|没关系|没事")
_EN_CLAUSE = re.compile(r"[^.,;:!?\n()]+")
_ZH_CLAUSE = re.compile(r"[^，。；：！？、,.;:!?\n()（）]+")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u3400-\u9fff]+")


def negated_tokens(low: str) -> list[str]:
    """``neg_...`` tokens for the words (stems) or character bigrams in a negation's scope."""
    return _english_scope(low) + _chinese_scope(low)


def _english_scope(low: str) -> list[str]:
    out: list[str] = []
    for clause in _EN_CLAUSE.findall(low):
        for match in EN_NEGATOR.finditer(clause):
            words = _EN_TOKEN.findall(clause[match.end() :])[:SCOPE_WORDS]
            out.extend(f"neg_{stem(w)}" for w in words if len(w) > 2)
    return out


def _zh_negators(text: str) -> list[re.Match[str]]:
    """Negators in Chinese ``text``, without A-not-A questions and set phrases."""
    out = []
    for match in ZH_NEGATOR.finditer(text):
        start = match.start()
        a_not_a = 0 < start < len(text) - 1 and text[start - 1] == text[start + 1]
        if not a_not_a and not ZH_NOT_NEGATION.match(text, start):
            out.append(match)
    return out


def _chinese_scope(low: str) -> list[str]:
    out: list[str] = []
    for clause in _ZH_CLAUSE.findall(low):
        for match in _zh_negators(clause):
            after = "".join(_CJK.findall(clause[match.end() : match.end() + SCOPE_CHARS]))
            out.extend(f"neg_{after[i : i + 2]}" for i in range(len(after) - 1))
    return out


def negated_groups(low: str, cues: Iterable[tuple[str, re.Pattern[str]]]) -> list[str]:
    """The cue groups with at least one negated occurrence in ``low`` (lower-cased text)."""
    out = []
    for group, pattern in cues:
        if any(_is_negated(low, m.start(), m.end()) for m in pattern.finditer(low)):
            out.append(group)
    return out


def _is_negated(low: str, start: int, end: int) -> bool:
    chinese = bool(_CJK.match(low[start:end]))
    if not chinese:
        return bool(EN_NEGATOR.search(_clause_tail(low[max(0, start - CUE_BEFORE["en"]) : start])))
    # Only negators near the cue count, so look for them in a window around it (with a margin
    # for the A-not-A and set-phrase checks) instead of the whole text for every cue.
    offset = max(0, start - CUE_BEFORE["zh"] - _MARGIN)
    window = low[offset : end + CUE_AFTER_ZH + _MARGIN]
    for match in _zh_negators(window):
        at = offset + match.start()
        if start - CUE_BEFORE["zh"] <= at < start:
            between = low[at:start]
        elif end <= at < end + CUE_AFTER_ZH:
            between = low[end:at]
        else:
            continue
        if _clause_tail(between) == between:  # no punctuation between negator and cue
            return True
    return False


def _clause_tail(text: str) -> str:
    """The part of ``text`` after its last punctuation mark (a negation stops there)."""
    parts = re.split(r"[.,;:!?\n，。；：！？]", text)
    return parts[-1]
