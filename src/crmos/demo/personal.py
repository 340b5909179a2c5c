"""Personal details (birthday, home address) and how each source system records them.

Real CRM sources do not agree on a person: a shop clerk keys the name in a hurry, a call-centre
agent writes down the nickname the caller gave, a WeChat member card has the birthday but rarely
a postcode, a shipping address knows the street. `recorded` gives the traits one source sends
for a person, with that source's habits: fields it asks for, fields people skip, and typos.
Pure and deterministic: all randomness comes from the caller's `random.Random`.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from crmos.demo.model import Home, Person

# fmt: off
# Per country: cities with their postcode stem, streets, and how a postcode is written.
_CITIES = {
    "CN": (("上海", "200"), ("北京", "100"), ("广州", "510"), ("深圳", "518"), ("杭州", "310")),
    "DE": (("Berlin", "10"), ("München", "80"), ("Hamburg", "20"), ("Köln", "50")),
    "BR": (("São Paulo", "01"), ("Rio de Janeiro", "20"), ("Belo Horizonte", "30")),
    "US": (("New York", "100"), ("Boston", "021"), ("Austin", "787"), ("Seattle", "981")),
    "JP": (("東京", "100"), ("大阪", "530"), ("横浜", "220")),
}
_STREETS = {
    "CN": ("南京路", "中山路", "人民路", "解放路", "延安路"),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee"),
    "BR": ("Rua das Flores", "Avenida Paulista", "Rua XV de Novembro", "Rua Augusta"),
    "US": ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Blvd"),
    "JP": ("本町", "中央通り", "桜通り", "栄町"),
}
_POSTCODE_DIGITS = {"CN": 6, "DE": 5, "BR": 8, "US": 5, "JP": 7}
# The short forms people give on the phone or sign a loyalty card with.
NICKNAMES = {
    "James": "Jim", "Michael": "Mike", "David": "Dave", "Daniel": "Dan", "Jessica": "Jess",
    "Megan": "Meg", "Olivia": "Liv", "Maximilian": "Max", "Katharina": "Kathi", "Lukas": "Luki",
    "Jürgen": "Jürgi", "Gabriel": "Gabi", "Fernanda": "Nanda", "Beatriz": "Bia", "João": "Joca",
    "Juliana": "Ju", "晓明": "小明", "思远": "远远", "雨桐": "桐桐", "陽翔": "はると",
}
# Characters an input method offers for the same sound: the typical Chinese typo.
_HOMOPHONES = {"伟": "玮", "芳": "方", "娜": "纳", "敏": "民", "静": "晶", "磊": "蕾", "婷": "亭",
               "强": "蔷", "明": "铭", "远": "元", "桐": "彤", "然": "燃", "王": "汪", "李": "理",
               "张": "章", "刘": "留", "陈": "晨", "杨": "阳", "黄": "皇", "赵": "照", "周": "舟",
               "吴": "伍"}
# What each source asks for (chance that a record has the field) and its typo rate. "nick" is
# the chance the first name is the nickname the person gave.
_SOURCES: dict[str, dict[str, float]] = {
    "pos": {"name": 1.0, "birthday": 0.9, "postcode": 0.85, "street": 0.3, "typo": 0.06},
    "call_centre": {"name": 1.0, "birthday": 0.6, "postcode": 0.8, "typo": 0.12, "nick": 0.12},
    "wechat": {"name": 0.95, "birthday": 0.8, "postcode": 0.4, "city": 0.9, "typo": 0.03},
    "app": {"name": 1.0, "birthday": 0.6, "postcode": 0.8, "street": 0.8, "city": 0.8,
            "typo": 0.02},
    "web": {"name": 1.0, "postcode": 0.3, "typo": 0.02},
    "email": {"name": 0.9, "birthday": 0.4, "typo": 0.01, "nick": 0.05},
}
# fmt: on


def birthday(rng: random.Random) -> str:
    """An adult's birth date, ISO 8601 (Segment's `birthday` trait)."""
    return (date(1956, 1, 1) + timedelta(days=rng.randrange(50 * 365))).isoformat()


def home(rng: random.Random, code: str) -> Home:
    """A home address in country `code`."""
    city, stem = rng.choice(_CITIES[code])
    digits = stem + "".join(
        rng.choice("0123456789") for _ in range(_POSTCODE_DIGITS[code] - len(stem))
    )
    if code == "BR":
        postcode = f"{digits[:5]}-{digits[5:]}"
    elif code == "JP":
        postcode = f"{digits[:3]}-{digits[3:]}"
    else:
        postcode = digits
    street, number = rng.choice(_STREETS[code]), rng.randint(1, 180)
    line = {
        "CN": f"{street}{number}号",
        "JP": f"{street}{number}-{rng.randint(1, 9)}",
        "US": f"{number} {street}",
    }.get(code, f"{street} {number}")
    return Home(postcode, city, line)


def recorded(rng: random.Random, source: str, person: Person) -> dict[str, Any]:
    """The name, birthday and address traits `source` holds for `person`, as it keyed them."""
    habits = _SOURCES[source]
    given, family = person.given, person.family
    traits: dict[str, Any] = {}
    if rng.random() < habits["name"]:
        if rng.random() < habits.get("nick", 0.0):
            given = NICKNAMES.get(given, given)
        if rng.random() < habits["typo"]:
            given, family = (
                (typo(rng, given), family)
                if rng.random() < 0.6
                else (
                    given,
                    typo(rng, family),
                )
            )
        traits |= {"firstName": given, "lastName": family, "name": _full(person, given, family)}
    if rng.random() < habits.get("birthday", 0.0):
        typed = rng.random() < habits["typo"] / 2
        traits["birthday"] = _swapped(person.birthday) if typed else person.birthday
    address = {
        key: value
        for key, value in (("postalCode", person.home.postcode), ("city", person.home.city))
        if rng.random() < habits.get("postcode" if key == "postalCode" else "city", 0.0)
    }
    if rng.random() < habits.get("street", 0.0):
        address["street"] = person.home.street
    if address:
        traits["address"] = address | {"country": person.country}
    return traits


def _full(person: Person, given: str, family: str) -> str:
    return f"{family}{given}" if person.country in ("CN", "JP") else f"{given} {family}"


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard (or of the input method, for Chinese characters)."""
    if not word.isascii() and any(ch in _HOMOPHONES for ch in word):
        at = next(i for i, ch in enumerate(word) if ch in _HOMOPHONES)
        return word[:at] + _HOMOPHONES[word[at]] + word[at + 1 :]
    if len(word) < 3:
        return word
    at = rng.randrange(1, len(word) - 1)
    slip = rng.randrange(3)
    if slip == 0:  # two letters swapped
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if slip == 1:  # a letter dropped
        return word[:at] + word[at + 1 :]
    return word[:at] + word[at] + word[at:]  # a letter doubled


def _swapped(iso: str) -> str:
    """Day and month swapped where both can be a month (the DD/MM vs MM/DD slip)."""
    year, month, day = iso.split("-")
    return f"{year}-{day}-{month}" if int(day) <= 12 and day != month else iso
