"""i18n: locales, catalogs, letter templates, business-day calendars.

Filled in by the compliance issue.
"""

__all__: list[str] = []
