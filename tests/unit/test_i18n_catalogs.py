"""Catalogs in many locales, right-to-left letters, CLDR formatting, counted English fallback."""

from __future__ import annotations

import pytest

from crmos.core.errors import ValidationError
from crmos.i18n import Catalogs, LetterWriter, direction, format_money, format_number, format_time

CONTEXT = {
    "request": {"id": "dsr_1", "received_ms": 1773324000000, "due_ms": 1775916000000},
    "report": {
        "completed_ms": 1773324060000,
        "stores": [{"target": "events", "status": "deleted"}],
        "systems": [{"target": "erp", "status": "confirmed", "confirmation": "erp-77"}],
        "verification": {"readable_copies": 0},
    },
    "timezone": "Europe/Berlin",
    "law": "GDPR Art. 17",
}


@pytest.fixture(scope="module")
def writer() -> LetterWriter:
    return LetterWriter(Catalogs())


def test_at_least_twenty_one_locales_ship_including_arabic_and_hebrew() -> None:
    locales = Catalogs().locales()
    assert len(locales) >= 21
    assert {"ar", "he", "de", "en", "zh_CN", "ja", "pt_BR"} <= set(locales)


def test_an_erasure_letter_is_written_in_german_and_english(writer: LetterWriter) -> None:
    german = writer("dsr_erasure", "de-DE", CONTEXT)
    english = writer("dsr_erasure", "en", CONTEXT)
    assert german.locale == "de" and german.subject == "Bestätigung der Löschung"
    assert "Rechtsgrundlage: GDPR Art. 17" in german.text
    assert "12. März 2026" in german.text
    assert "erp: bestätigt (erp-77)" in german.text
    assert english.subject == "Confirmation of erasure"
    assert "March 12, 2026" in english.text
    assert 'lang="de" dir="ltr"' in german.html


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_right_to_left_letters_say_so_in_their_html(writer: LetterWriter, locale: str) -> None:
    letter = writer("dsr_erasure", locale, CONTEXT)
    assert letter.direction == "rtl" == direction(locale)
    assert f'lang="{locale}" dir="rtl"' in letter.html
    assert "<bdi>erp</bdi>" in letter.html


def test_a_missing_translation_falls_back_to_english_visibly_and_is_counted() -> None:
    catalogs = Catalogs()
    writer = LetterWriter(catalogs)
    assert "Consent coverage" in catalogs.missing()["th"]
    text = catalogs.text("th", "Consent coverage")
    assert text.fallback and text.value == "Consent coverage"
    assert catalogs.fallbacks[("th", "Consent coverage")] == 1
    # A CLDR locale without a catalog is written in English, every message marked and counted.
    letter = writer("dsr_erasure", "sw", CONTEXT)
    assert letter.fallbacks > 5
    assert "[en] Confirmation of erasure" in letter.text
    assert 'lang="en" dir="ltr" class="fallback"' in letter.html
    assert catalogs.fallbacks[("sw", "Dear customer,")] == 1
    assert catalogs.fallbacks[("en", "Dear customer,")] == 0


def test_an_unknown_locale_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match="unknown locale 'xx-!!'"):
        Catalogs().resolve("xx-!!")


def test_an_unknown_letter_is_refused(writer: LetterWriter) -> None:
    with pytest.raises(ValidationError, match="unknown letter"):
        writer("love_letter", "en", CONTEXT)


def test_dates_numbers_and_money_are_formatted_the_cldr_way() -> None:
    assert format_number(1234.5, "de") == "1.234,5"
    assert format_money(1234.5, "BRL", "pt_BR").replace("\xa0", " ") == "R$ 1.234,50"
    assert (
        format_money(1234.5, "EUR", "fr").replace("\u202f", " ").replace("\xa0", " ")
        == "1 234,50 €"
    )
    assert format_time(1773324000000, "ja", "Asia/Tokyo").startswith("2026年3月12日")


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("de", 1, "fand 1 lesbare Kopie Ihrer"),
        ("de", 3, "fand 3 lesbare Kopien Ihrer"),
        ("en", 1, "found 1 readable copy of"),
        ("en", 0, "found 0 readable copies of"),
        ("ar", 2, "نسختين"),
        ("ar", 5, "5 نسخ"),
    ],
)
def test_the_erasure_letter_counts_copies_in_the_plural_form_of_its_locale(
    writer: LetterWriter, locale: str, count: int, expected: str
) -> None:
    report = {**CONTEXT["report"], "verification": {"readable_copies": count}}
    context = {**CONTEXT, "report": report}
    assert expected in writer("dsr_erasure", locale, context).text
