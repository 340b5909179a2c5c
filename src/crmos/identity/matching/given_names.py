"""First names that are one name across scripts and cultures: nicknames and Japanese readings.

- **English nicknames** (``Mike``/``Michael``, ``Bill``/``William``) come from the
  ``nicknames`` package, a maintained, hand-curated list (names.csv of carltonnorthern/
  nicknames): one name is a listed nickname of the other.
- **Japanese readings**: a name written in kana (``はると``, ``ハルト``) or in Latin letters
  (``Haruto``) is one name with a kanji name (``陽翔``) it can be read as. Readings come from
  pykakasi's dictionary: the readings of the whole name where the dictionary has it
  (``陽菜``: ``はるな``, ``ひな``), else the readings of each character put together. A
  character's readings are its own entries, the stems of its verb forms (``翔ぶ``: ``と``)
  and what its two-character names leave once the second character's reading is taken off
  (``陽菜`` ``はるな`` less ``菜`` ``な``: ``はる``): names use such name readings (nanori)
  more than the readings a text converter picks (pykakasi reads ``陽翔`` as ``ようしょう``).
- **German and Portuguese short forms**: no maintained package lists them (corp-names maps
  ``Jürgen`` to ``George``, a translation, not a short form); the patterns of
  ``guards.pet_name`` (``Luki``/``Lukas``, ``Nanda``/``Fernanda``) cover the regular ones.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache

from nicknames import NickNamer
from pykakasi import kakasi
from pykakasi.kanji import Kanwa

MAX_READINGS = 256
"""Readings put together for one name at most (a three-character name has few more)."""


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


def nicknames_of(name: str) -> set[str]:
    """The listed English nicknames of ``name``, lower case (``william``: ``bill``, ...)."""
    return set(_nicknamer().nicknames_of(name)) if name.isascii() else set()


def english_nickname(a: str, b: str) -> bool:
    """Whether one of two first names is a listed English nickname of the other."""
    a, b = a.strip().casefold(), b.strip().casefold()
    if a == b or not (a.isascii() and b.isascii()):
        return False
    names = _nicknamer()
    return b in names.nicknames_of(a) or a in names.nicknames_of(b)


def same_reading(a: str, b: str) -> bool:
    """Whether a Japanese name in kana or Latin letters reads as the other, in kanji."""
    for kana_or_latin, kanji in ((a, b), (b, a)):
        if _kanji(kanji) and not _kanji(kana_or_latin):
            spoken = _spoken(kana_or_latin)
            if spoken and spoken in {_spoken(r) for r in readings(kanji)}:
                return True
    return False


@lru_cache(maxsize=16_384)
def readings(name: str) -> frozenset[str]:
    """The hiragana readings of a Japanese name: whole-name entries, else per character."""
    name = name.strip()
    whole = _entry_readings(name, name)
    if whole:
        return frozenset(whole)
    per_char = [_char_readings(ch) for ch in name]
    if not all(per_char):
        return frozenset()
    combos = itertools.islice(itertools.product(*per_char), MAX_READINGS)
    return frozenset("".join(parts) for parts in combos)


@lru_cache(maxsize=4_096)
def _char_readings(ch: str) -> frozenset[str]:
    """A character's readings: its entries, its verb stems, and its readings in names."""
    if _is_kana(ch):
        return frozenset({_hira(ch)})
    table = _table(ch)
    out = set(_entry_readings(ch, ch))
    for key, values in table.items():
        if len(key) == 2 and key[0] == ch and _is_kana(key[1]):
            out |= {y[: -len(key[1])] for y, _ in values if len(y) > 1 and y.endswith(key[1])}
    for key, values in table.items():
        if len(key) == 2 and key[0] == ch and not _is_kana(key[1]):
            tails = _entry_readings(key[1], key[1])
            out |= {y[: -len(t)] for y, _ in values for t in tails if y.endswith(t)} - {""}
    return frozenset(r for r in out if r)


def _entry_readings(word: str, key: str) -> set[str]:
    return {y for y, _ in _table(word[0]).get(key, ())} if word and _kanji(word[0]) else set()


def _table(ch: str) -> dict[str, list[tuple[str, str | None]]]:
    found = Kanwa().load(ch)  # type: ignore[no-untyped-call]
    return found if isinstance(found, dict) else {}


@lru_cache(maxsize=1)
def _converter() -> kakasi:
    return kakasi()  # type: ignore[no-untyped-call]


def _hira(text: str) -> str:
    return "".join(part["hira"] for part in _converter().convert(text))


def _spoken(text: str) -> str:
    """A reading as it sounds in Latin letters, long vowels folded (Yūma, Yuuma, Yuma)."""
    text = text.strip().casefold()
    if any(_is_kana(ch) or _kanji(ch) for ch in text):
        latin = "".join(p["hepburn"] for p in _converter().convert(text))
    else:  # Latin letters: macrons dropped (Yūma)
        latin = "".join(ch for ch in unicodedata.normalize("NFKD", text) if ch.isascii())
    for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        latin = latin.replace(long, short)
    return "".join(ch for ch in latin if ch.isalpha())


def _is_kana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u30ff"


def _kanji(text: str) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)
