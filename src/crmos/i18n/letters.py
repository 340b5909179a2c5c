"""Letters to data subjects in their locale: Jinja2 templates over the Babel catalogs.

Right-to-left locales get ``dir="rtl"`` in HTML; dates are CLDR-formatted in the team's time
zone. Letters carry no name or address: they are sent to the person's own contact by whoever
delivers them, and stored copies therefore hold no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from crmos.compliance import Letter
from crmos.core.errors import Problem, ValidationError
from crmos.i18n.catalogs import Catalogs, Text, direction
from crmos.i18n.formatting import format_time

TITLES = {
    "dsr_erasure": "Confirmation of erasure",
    "dsr_access": "Confirmation of your access request",
    "dsr_rectification": "Confirmation of rectification",
    "dsr_opt_out": "Confirmation of opt-out",
}
STATUS_WORDS = {
    "erased": "erased",
    "deleted": "deleted",
    "pseudonymised": "pseudonymised",
    "shredded": "keys destroyed",
    "confirmed": "confirmed",
    "not_present": "no data held",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True)
class _Row:
    target: str
    status: Text
    confirmation: str | None


class LetterWriter:
    """Renders letters; an instance is the ``LetterRenderer`` compliance is given."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs
        self._env = Environment(
            loader=PackageLoader("crmos.i18n", "templates"),
            autoescape=select_autoescape(["html", "j2"], default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def __call__(self, template: str, locale: str, context: Mapping[str, Any]) -> Letter:
        """The letter ``template`` (``dsr_erasure`` ...) for ``context`` in ``locale``."""
        if template not in TITLES:
            message = f"unknown letter '{template}'; use one of {', '.join(TITLES)}"
            raise ValidationError(message, [Problem("template", message)])
        loc = self.catalogs.resolve(locale)
        parts = self._parts(template, loc, context)
        text = self._env.get_template("letter.txt.j2").render(**parts)
        html = self._env.get_template("letter.html.j2").render(**parts)
        return Letter(
            locale=loc,
            direction=parts["dir"],
            subject=parts["title"].value,
            text=text,
            html=html,
            fallbacks=sum(1 for p in _texts(parts) if p.fallback),
        )

    def _parts(self, template: str, loc: str, context: Mapping[str, Any]) -> dict[str, Any]:
        request = context.get("request") or {}
        report = context.get("report") or {}
        tz = str(context.get("timezone") or "UTC")

        def t(msgid: str, **values: Any) -> Text:
            found = self.catalogs.text(loc, msgid)
            return Text(found.value.format(**values), found.fallback)

        def tn(singular: str, plural: str, count: int) -> Text:
            found = self.catalogs.plural(loc, singular, plural, count)
            return Text(found.value.format(count=count), found.fallback)

        def when(ms: Any) -> str:
            return format_time(int(ms), loc, tz) if ms else "-"

        paragraphs = [
            t("We received your request on {received}.", received=when(request.get("received_ms")))
        ]
        paragraphs += _body(t, tn, template, request, report, when)
        rows = [
            _Row(
                str(o["target"]),
                t(STATUS_WORDS.get(str(o["status"]), str(o["status"]))),
                o.get("confirmation"),
            )
            for o in [*report.get("stores", []), *report.get("systems", [])]
        ]
        footer = [t("Reference: {reference}", reference=request.get("id", "-"))]
        if context.get("law"):
            footer.append(t("Legal basis: {law}", law=context["law"]))
        return {
            "lang": loc.replace("_", "-"),
            "dir": direction(loc),
            "title": t(TITLES[template]),
            "greeting": t("Dear customer,"),
            "paragraphs": paragraphs,
            "rows": rows,
            "footer": footer,
            "closing": t("Kind regards,"),
            "signature": t("Data Protection Team"),
        }


def _body(
    t: Any,
    tn: Any,
    template: str,
    request: Mapping[str, Any],
    report: Mapping[str, Any],
    when: Any,
) -> list[Text]:
    status = request.get("status")
    out: list[Text] = []
    if status in ("blocked", "failed", "incomplete") and request.get("reason"):
        out.append(t("We could not complete your request: {reason}", reason=request["reason"]))
    elif report.get("completed_ms"):
        out.append(
            t(
                "We completed it on {completed}. The legal deadline was {due}.",
                completed=when(report.get("completed_ms")),
                due=when(request.get("due_ms")),
            )
        )
    if template == "dsr_erasure" and report:
        out.append(t("Your personal data was erased from the following stores and systems:"))
        count = int((report.get("verification") or {}).get("readable_copies", 0))
        out.append(
            tn(
                "Our check of every table and file found {count} readable copy of your data.",
                "Our check of every table and file found {count} readable copies of your data.",
                count,
            )
        )
    elif template == "dsr_access":
        out.append(t("Your data export is ready."))
    elif template == "dsr_rectification":
        out.append(
            t(
                "We corrected the following information: {fields}",
                fields=", ".join(report.get("traits", [])),
            )
        )
    elif template == "dsr_opt_out":
        out.append(
            t("You opted out of: {purposes}", purposes=", ".join(report.get("purposes", [])))
        )
    return out


def _texts(parts: Mapping[str, Any]) -> list[Text]:
    found: list[Text] = []
    for value in parts.values():
        if isinstance(value, Text):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Text):
                    found.append(item)
                elif isinstance(item, _Row):
                    found.append(item.status)
    return found
