"""Per-workspace compliance settings: enabled packs, validators per trait, default region,
locale, teams with their calendars, complaint handling and downstream systems for erasure.

The settings are a pydantic model at the edge (API bodies, YAML/JSON files); they are stored as
JSON in ``compliance_settings`` and every change is appended to the audit chain.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any, Literal

import holidays
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from crmos.compliance import validators as validator_registry
from crmos.core.errors import Problem, ValidationError

_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OFFICE = {d: ["09:00-17:00"] for d in WEEKDAYS[:5]}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Model):
    """A team's business calendar: time zone, public holidays and working hours."""

    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Berlin.")
    country: str | None = Field(default=None, description="Public holidays of this country.")
    subdivision: str | None = Field(default=None, description="State/province for holidays.")
    hours: dict[str, list[str]] = Field(
        default=_OFFICE, description="Weekday (mon..sun) -> spans such as 09:00-17:00."
    )
    extra_closed: list[str] = Field(default=[], description="More closed dates (YYYY-MM-DD).")

    def problems(self, path: str) -> list[Problem]:
        """What is wrong with this team, each problem named by its path."""
        found: list[Problem] = []
        if self.timezone not in zoneinfo.available_timezones():
            found.append(Problem(f"{path}.timezone", f"unknown time zone '{self.timezone}'"))
        if self.country and self.country not in holidays.list_supported_countries():
            found.append(Problem(f"{path}.country", f"no holiday calendar for '{self.country}'"))
        for day, spans in self.hours.items():
            if day not in WEEKDAYS:
                found.append(Problem(f"{path}.hours.{day}", f"use one of {', '.join(WEEKDAYS)}"))
            found.extend(
                Problem(f"{path}.hours.{day}", f"'{span}' is not HH:MM-HH:MM")
                for span in spans
                if not _HOURS.match(span)
            )
        return found


class Downstream(_Model):
    """A downstream system that holds personal data and must erase it too."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$", description="Name in reports.")
    kind: Literal["webhook", "action"] = Field(
        description="webhook: POST the erasure to url; action: run a crmos.actions action."
    )
    url: str | None = Field(default=None, description="Erasure endpoint of a webhook system.")
    action: str | None = Field(default=None, description="Action name for kind=action.")
    params: dict[str, Any] = Field(default={}, description="Extra parameters of the action.")
    timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for an answer.")


class ComplianceConfig(_Model):
    """A workspace's compliance settings."""

    packs: list[str] = Field(default=[], description="Enabled packs (gdpr, ccpa, ...).")
    validators: dict[str, str] = Field(
        default={},
        description="Field -> validator, e.g. {'cpf': 'br.cpf'}; a bare name checks traits, "
        "context.traits and properties, a dotted path (properties.buyer.cpf) only that place.",
    )
    default_region: str | None = Field(default=None, description="Region when none is known.")
    locale: str = Field(default="en", description="Locale of letters and UI text.")
    teams: dict[str, Team] = Field(default={"default": Team()}, description="Team calendars.")
    complaint_team: str = Field(default="default", description="Team answering complaints.")
    complaint_events: list[str] = Field(
        default=["Complaint Submitted"], description="Track events that are complaints."
    )
    complaint_text_fields: list[str] = Field(
        default=["text", "message", "complaint", "body"],
        description="Properties holding a complaint's text.",
    )
    erase_on_complaint: bool = Field(
        default=True, description="Start an erasure when a complaint's text asks for one."
    )
    downstream: list[Downstream] = Field(default=[], description="Systems erasure reaches.")

    def problems(self, known_packs: list[str]) -> list[Problem]:
        """Every problem of these settings (unknown packs, validators, teams), with paths."""
        found = [
            Problem(f"packs[{i}]", f"unknown pack '{p}'; known: {', '.join(known_packs)}")
            for i, p in enumerate(self.packs)
            if p not in known_packs
        ]
        for fieldname, name in self.validators.items():
            try:
                validator_registry.validator(name)
            except ValidationError as exc:
                found.append(Problem(f"validators.{fieldname}", exc.problems[0].message))
        for team_name, team in self.teams.items():
            found.extend(team.problems(f"teams.{team_name}"))
        if self.complaint_team not in self.teams:
            message = f"no team '{self.complaint_team}'; teams: {', '.join(self.teams)}"
            found.append(Problem("complaint_team", message))
        found.extend(_downstream_problems(self.downstream))
        return found

    def team(self, name: str | None) -> Team:
        """The team called ``name`` (or the complaint team), falling back to ``default``."""
        return self.teams.get(name or self.complaint_team) or Team()


def _downstream_problems(systems: list[Downstream]) -> list[Problem]:
    found: list[Problem] = []
    for i, system in enumerate(systems):
        if system.kind == "webhook" and not system.url:
            found.append(Problem(f"downstream[{i}].url", "a webhook system needs a url"))
        if system.kind == "action" and not system.action:
            found.append(Problem(f"downstream[{i}].action", "an action system needs an action"))
    names = [s.name for s in systems]
    found.extend(
        Problem("downstream", f"'{n}' is listed twice") for n in set(names) if names.count(n) > 1
    )
    return found


def parse_config(data: object, known_packs: list[str]) -> ComplianceConfig:
    """Validate settings data; every problem is reported at once with its path."""
    try:
        config = ComplianceConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in err["loc"]) or "$", err["msg"], reason=err["type"])
            for err in exc.errors()
        ]
        raise ValidationError("compliance settings rejected", problems) from exc
    problems = config.problems(known_packs)
    if problems:
        raise ValidationError("compliance settings rejected", problems)
    return config
