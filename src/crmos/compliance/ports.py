"""What compliance needs from rooms to its right (i18n), given to it by the composition root.

Letters in many locales and business-time calendars belong to the i18n room, which imports
compliance; compliance only names what it needs here, and ``crmos.bootstrap`` wires i18n in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from crmos.compliance.config import Team


@dataclass(frozen=True, slots=True)
class Letter:
    """A letter rendered in one locale: text and HTML (``dir="rtl"`` for Arabic, Hebrew ...)."""

    locale: str
    direction: str
    subject: str
    text: str
    html: str
    fallbacks: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "locale": self.locale,
            "dir": self.direction,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "fallbacks": self.fallbacks,
        }


class LetterRenderer(Protocol):
    """Renders a letter template in a locale."""

    def __call__(self, template: str, locale: str, context: Mapping[str, Any]) -> Letter:
        """The letter ``template`` for ``context`` in ``locale``."""


class DueTime(Protocol):
    """Computes a due time from a start and a duration, in a team's business time or not."""

    def __call__(self, team: Team, start_ms: int, hours: float, business: bool) -> int:
        """Epoch ms when ``hours`` (business hours when ``business``) after ``start_ms`` end."""


def calendar_time(team: Team, start_ms: int, hours: float, business: bool) -> int:
    """The fallback when no calendar is wired: plain elapsed time."""
    del team, business
    return start_ms + int(hours * 3_600_000)
