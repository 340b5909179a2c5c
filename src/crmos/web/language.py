"""The console's language: ``?lang=xx``, then the ``crmos_lang`` cookie, then Accept-Language.

Every string goes through the shared Babel catalogs (``crmos.i18n``) with plural forms, and
dates and numbers are formatted by CLDR in the chosen locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError, negotiate_locale

from crmos.core.errors import ValidationError
from crmos.i18n import Catalogs, direction, format_number, format_percent, format_time

COOKIE = "crmos_lang"
NONE = "\u2013"  # an en dash stands for a missing value
# The locales the console offers in its picker; any other catalog still works through ?lang=.
OFFERED = ("en", "zh_CN", "de", "ar")
NATIVE_NAMES = {"en": "English", "zh_CN": "中文", "de": "Deutsch", "ar": "العربية"}


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and formats for one locale."""

    locale: str
    catalogs: Catalogs

    @property
    def lang(self) -> str:
        """The BCP 47 tag for ``<html lang>`` (``zh-CN``)."""
        return self.locale.replace("_", "-")

    @property
    def dir(self) -> str:
        """``rtl`` or ``ltr``."""
        return direction(self.locale)

    def gettext(self, msgid: str, **values: Any) -> str:
        """``msgid`` translated, with ``{name}`` fields filled from ``values``."""
        text = self.catalogs.text(self.locale, msgid).value
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        """The plural form for ``n``; ``{count}`` is ``n`` formatted for the locale."""
        text = self.catalogs.plural(self.locale, singular, plural, n).value
        return text.format(count=self.number(n), **values)

    def time(self, epoch_ms: int | None, width: str = "medium") -> str:
        """A moment in the locale's words (UTC)."""
        return NONE if epoch_ms is None else format_time(int(epoch_ms), self.locale, width=width)

    def number(self, value: float | int | None) -> str:
        """A number with the locale's separators."""
        return NONE if value is None else format_number(value, self.locale)

    def percent(self, value: float | None) -> str:
        """A share as a percentage."""
        return NONE if value is None else format_percent(value, self.locale)


def choose(catalogs: Catalogs, query: str | None, cookie: str | None, accept: str | None) -> str:
    """The catalog locale for a request: the query, the cookie, the browser, then English."""
    for asked in (query, cookie):
        if asked:
            try:
                return catalogs.resolve(asked)
            except ValidationError:
                continue
    if accept:
        wanted = [part.split(";")[0].strip().replace("-", "_") for part in accept.split(",")]
        found = negotiate_locale([w for w in wanted if w], list(OFFERED), sep="_")
        if found:
            return found
    return "en"


def native_name(locale: str) -> str:
    """The locale's name in its own language (for the picker)."""
    if locale in NATIVE_NAMES:
        return NATIVE_NAMES[locale]
    try:
        return str(Locale.parse(locale).display_name or locale)
    except (UnknownLocaleError, ValueError):
        return locale
