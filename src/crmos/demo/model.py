"""The demo world's model: companies, people, the generated `World` and its ground truth.

Plain frozen dataclasses, no I/O; `crmos.demo.world` builds them and re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOUCHPOINTS = ("wechat", "app", "web", "call_centre", "pos", "email")
"""Every touchpoint an event can come from (`context.touchpoint`)."""

IDENTIFIERS = (
    ("email", "email"),
    ("phone", "call_centre"),
    ("wechat_openid", "wechat"),
    ("app_user_id", "app"),
    ("device_id", "app"),
    ("pos_member_id", "pos"),
    ("web_anonymous_id", "web"),
)
"""Each `Person` identifier field and the touchpoint whose native key it is."""


@dataclass(frozen=True, slots=True)
class Company:
    """A B2B account: the `groupId` of group calls."""

    id: str
    name: str
    domain: str
    industry: str
    country: str


@dataclass(frozen=True, slots=True)
class Home:
    """Where a person lives; the members of a household share one."""

    postcode: str
    city: str
    street: str


@dataclass(frozen=True, slots=True)
class Person:
    """One real person and every identifier they use; `None` where they do not use it.

    `given`, `family`, `birthday` (ISO 8601) and `home` are the true personal details; each
    source system records its own, sometimes wrong, copy of them (`crmos.demo.personal`).
    `household` is the id of the first member of the person's household (themselves if alone).
    """

    id: str
    name: str
    company_id: str | None
    email: str
    phone: str
    wechat_openid: str | None
    app_user_id: str | None
    pos_member_id: str | None
    device_id: str | None
    web_anonymous_id: str | None
    country: str
    role: str
    given: str
    family: str
    birthday: str
    home: Home
    household: str


@dataclass(frozen=True, slots=True)
class World:
    """A generated world: companies, people and their events sorted by timestamp."""

    companies: list[Company]
    people: list[Person]
    events: list[dict[str, Any]]

    def ground_truth(self) -> list[dict[str, Any]]:
        """One row per (person, identifier): who is who, for scoring identity resolution."""
        return [
            {
                "person_id": p.id,
                "company_id": p.company_id,
                "identifier_type": kind,
                "identifier_value": value,
                "touchpoint": touchpoint,
            }
            for p in self.people
            for kind, touchpoint in IDENTIFIERS
            if (value := getattr(p, kind)) is not None
        ]
