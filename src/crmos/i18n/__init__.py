"""i18n: message catalogs in 23 locales (right-to-left included), CLDR formatting, letters to
data subjects, and business calendars per team for SLA due times. Imports compliance and left.
"""

from crmos.i18n.calendars import BusinessCalendar, calendar_of, due_ms
from crmos.i18n.catalogs import Catalogs, Text, direction
from crmos.i18n.formatting import (
    format_day,
    format_money,
    format_number,
    format_percent,
    format_time,
)
from crmos.i18n.letters import LetterWriter

__all__ = [
    "BusinessCalendar",
    "Catalogs",
    "LetterWriter",
    "Text",
    "calendar_of",
    "direction",
    "due_ms",
    "format_day",
    "format_money",
    "format_number",
    "format_percent",
    "format_time",
]
