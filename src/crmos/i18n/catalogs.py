"""Message catalogs: one Babel ``.po`` file per locale, package data, read once at first use.

Plural messages (``msgid_plural``) pick their form with the locale's own rule (CLDR through
Babel: one form in Chinese, two in German, six in Arabic), as GNU gettext's ``ngettext`` does.

A missing translation falls back to English visibly (``[en] ...`` in text, ``lang="en"`` in
HTML) and is counted per locale, so ``crmos i18n status`` shows what translators still owe.
"""

from __future__ import annotations

import functools
import gettext
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

from crmos.core.errors import Problem, ValidationError

SOURCE = "en"
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "dv", "ckb"})


@dataclass(frozen=True, slots=True)
class Text:
    """A translated message, or the English one when no translation exists."""

    value: str
    fallback: bool


class Catalogs:
    """Every shipped catalog, with fallback counters."""

    def __init__(self) -> None:
        self._messages, self._plurals, self._rules = _shipped()
        self._lock = threading.Lock()
        self.fallbacks: Counter[tuple[str, str]] = Counter()

    def locales(self) -> list[str]:
        """Locales with a catalog, sorted."""
        return sorted(self._messages)

    def resolve(self, locale: str) -> str:
        """The catalog to use for ``locale`` (``de-DE`` -> ``de``, ``pt-BR`` -> ``pt_BR``).

        A locale CLDR does not know is an error; a known one without a catalog gets English.
        """
        tag = locale.strip().replace("-", "_")
        try:
            parsed = Locale.parse(tag)
        except (UnknownLocaleError, ValueError) as exc:
            valid = ", ".join(self.locales())
            message = f"unknown locale '{locale}'; use a CLDR locale such as {valid}"
            raise ValidationError(message, [Problem("locale", message)]) from exc
        for candidate in (str(parsed), f"{parsed.language}_{parsed.territory}", parsed.language):
            if candidate in self._messages:
                return candidate
        if parsed.language == "zh":
            return "zh_CN"
        return str(parsed)  # no catalog: every message falls back to English, visibly

    def text(self, locale: str, msgid: str) -> Text:
        """``msgid`` in ``locale`` (already resolved), counting a fallback to English."""
        found = self._messages.get(locale, {}).get(msgid)
        if found:
            return Text(found, False)
        if locale != SOURCE:
            with self._lock:
                self.fallbacks[(locale, msgid)] += 1
        return Text(msgid, locale != SOURCE)

    def plural(self, locale: str, singular: str, plural: str, n: int) -> Text:
        """The form of ``singular``/``plural`` for ``n`` in ``locale`` (``ngettext``), counting a
        fallback to English when the locale lacks the message or one of its forms."""
        forms = self._plurals.get(locale, {}).get(singular)
        rule = self._rules.get(locale)
        if forms and rule is not None:
            index = rule(n)
            if index < len(forms) and forms[index]:
                return Text(forms[index], False)
        if locale != SOURCE:
            with self._lock:
                self.fallbacks[(locale, singular)] += 1
        return Text(singular if n == 1 else plural, locale != SOURCE)

    def missing(self) -> dict[str, list[str]]:
        """Per locale, the source messages it has no translation for."""
        source = list(self._messages[SOURCE])
        plurals = list(self._plurals[SOURCE])
        return {
            loc: [m for m in source if not messages.get(m)]
            + [m for m in plurals if not all(self._plurals.get(loc, {}).get(m, ("",)))]
            for loc, messages in sorted(self._messages.items())
        }


@functools.cache
def _shipped() -> tuple[
    dict[str, dict[str, str]],
    dict[str, dict[str, tuple[str, ...]]],
    dict[str, Callable[[int], int]],
]:
    """The shipped catalogs, parsed once per process (parsing all of them takes ~0.1 s, and
    every container builds its own ``Catalogs``): messages, plural forms and plural rules by
    locale. Callers only read them."""
    messages: dict[str, dict[str, str]] = {}
    plurals: dict[str, dict[str, tuple[str, ...]]] = {}
    rules: dict[str, Callable[[int], int]] = {}
    folder = files("crmos.i18n") / "locales"
    for entry in folder.iterdir():
        if not entry.name.endswith(".po"):
            continue
        name = entry.name[:-3]
        with entry.open("rb") as fh:
            catalog = read_po(fh, locale=name)
        messages[name] = {
            str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.id, str)
        }
        plurals[name] = {
            str(m.id[0]): tuple(str(s) for s in m.string)
            for m in catalog
            if isinstance(m.id, tuple | list) and isinstance(m.string, tuple | list)
        }
        # Babel gives the rule from the header, or from CLDR when the header has none.
        rules[name] = gettext.c2py(catalog.plural_expr)
    return messages, plurals, rules


def direction(locale: str) -> str:
    """``rtl`` for right-to-left scripts (Arabic, Hebrew ...), else ``ltr``."""
    return "rtl" if locale.split("_")[0] in RTL_LANGUAGES else "ltr"
