"""Text helpers shared by the agent: language detection, message cleaning, search terms.

Language detection is deliberately small and offline: the share of CJK characters decides
Chinese; otherwise English stopwords must make up a fair share of the words. Anything else is
``unknown`` (the caller decides what that means, e.g. an unreadable interaction).
"""

from __future__ import annotations

import re
import unicodedata

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

EN_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "let",
        "me",
        "more",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "please",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)

_GREETING = re.compile(
    r"^\s*(?:to whom it may concern[,:]?|(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)"
    r"|morning|greetings)\b[^,\n.!:]{0,40}[,!:.]|[^，,：:\s]{0,8}(?:您好|你好|早上好|下午好|各位好|嗨)"
    r"[，,！!：:]?|致[^：:]{0,12}[：:])\s*",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?:\s*(?:(?:best|kind|warm)\s+regards|regards|cheers|thanks|thank you(?: in advance)?"
    r"|many thanks|sincerely|sent from my \w+|此致敬礼|谢谢[！!]?|多谢[。.]?|辛苦了|期待回复[。.]?"
    r"|发自我的手机)[,.!。！]?(?:\s*[A-Z][a-z]+)?\s*)+$",
    re.IGNORECASE,
)


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among the letters of ``text``."""
    letters = sum(1 for ch in text if ch.isalpha())
    return len(CJK.findall(text)) / letters if letters else 0.0


def detect_language(text: str) -> str:
    """``zh``, ``en`` or ``unknown``, from the CJK share and English stopwords."""
    if cjk_ratio(text) >= 0.2:
        return "zh"
    words = LATIN_WORD.findall(text.lower())
    if not words:
        return "unknown"
    stop = sum(1 for w in words if w in EN_STOPWORDS)
    return "en" if stop / len(words) >= 0.12 or (len(words) <= 3 and stop) else "unknown"


def clean_message(text: str) -> str:
    """The message without a leading greeting and trailing sign-offs (kept if nothing's left)."""
    body = _GREETING.sub("", text.strip(), count=1)
    body = _SIGN_OFF.sub("", body)
    return body if len(body) > 3 else text.strip()


def stem(word: str) -> str:
    """A light English suffix stripper (charges, charged, charging -> charg; renewal -> renew)."""
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ed", "als", "al", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII) and collapsed whitespace."""
    return re.sub(r"[ \t\u3000]+", " ", unicodedata.normalize("NFKC", text)).strip()


def search_terms(text: str) -> list[str]:
    """Index terms: stemmed English words without stopwords, and CJK character bigrams."""
    low = normalise(text).lower()
    terms = [stem(w) for w in LATIN_WORD.findall(low) if w not in EN_STOPWORDS and len(w) > 1]
    terms += re.findall(r"\d{2,}", low)
    for run in CJK_RUN.findall(low):
        if len(run) == 1:
            terms.append(run)
        terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    return terms
