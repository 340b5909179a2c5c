"""Where a person's data-protection law comes from: country traits, phone region, address (pure).

Regions are ISO 3166 codes: a country (``DE``) or, where a state has its own law, a
subdivision (``US-CA``). A person may fall under several (a German phone, a Brazilian address).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import phonenumbers
from babel import Locale, languages

_COUNTRY_KEYS = ("country", "country_code", "countryCode")
_STATE_KEYS = ("state", "region", "province", "subdivision")
_PHONE_KEYS = ("phone", "mobile", "phone_number", "phoneNumber")
# Countries whose subdivisions carry their own privacy law.
_BY_SUBDIVISION = frozenset({"US"})
_NAME_LOCALES = ("en", "de", "fr", "es", "pt", "it", "nl", "zh", "ja")


def regions_of(traits: Mapping[str, Any], default: str | None = None) -> tuple[str, ...]:
    """Every region ``traits`` point to (country traits, address, phone), sorted; else default."""
    found: set[str] = set()
    found.update(_from_fields(traits))
    address = traits.get("address")
    if isinstance(address, Mapping):
        found.update(_from_fields(address))
    elif isinstance(address, str):
        found.update(_from_text(address))
    for key in _PHONE_KEYS:
        region = phone_region(traits.get(key))
        if region:
            found.add(region)
    found = _drop_covered(found)
    if not found and default:
        found.add(default.upper())
    return tuple(sorted(found))


def locale_of(traits: Mapping[str, Any]) -> str | None:
    """The person's preferred locale from ``locale`` or ``language`` traits (``de_DE``)."""
    for key in ("locale", "language", "preferred_language"):
        value = traits.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().replace("-", "_")
    return None


def region_locale(region: str) -> str | None:
    """The locale of a region's first official language (``DE`` -> ``de_DE``), or None."""
    territory = region.split("-")[0].upper()
    found = languages.get_official_languages(territory, de_facto=True)
    return f"{found[0]}_{territory}" if found else None


def phone_region(value: object) -> str | None:
    """The ISO country of an international phone number (``+49 ...`` -> ``DE``), or None."""
    if not isinstance(value, str | int) or not str(value).strip():
        return None
    try:
        number = phonenumbers.parse(str(value), None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def country_code(value: object) -> str | None:
    """An ISO alpha-2 code from a code (``de``) or a country name in common languages."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return _names().get(text.casefold())


def _from_fields(data: Mapping[str, Any]) -> set[str]:
    country = next((c for k in _COUNTRY_KEYS if (c := country_code(data.get(k)))), None)
    if country is None:
        return set()
    if country in _BY_SUBDIVISION:
        state = next((s for k in _STATE_KEYS if isinstance(s := data.get(k), str) and s), None)
        if state and len(state.strip()) == 2:
            return {f"{country}-{state.strip().upper()}"}
    return {country}


def _from_text(address: str) -> set[str]:
    parts = [p.strip() for p in address.replace("\n", ",").split(",") if p.strip()]
    for part in reversed(parts):
        code = country_code(part)
        if code:
            return {code}
    return set()


def _drop_covered(regions: Iterable[str]) -> set[str]:
    """``US`` adds nothing next to ``US-CA``."""
    found = set(regions)
    return {r for r in found if not any(o.startswith(r + "-") for o in found)}


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for tag in _NAME_LOCALES:
        for code, name in Locale.parse(tag).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(name.casefold(), code)
    return names
