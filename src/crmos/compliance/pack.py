"""A compliance pack: one law's rules as data (YAML), validated into a typed spec.

A pack declares the data-subject request types and deadlines, consent purposes and their lawful
bases, retention limits, cross-border transfer rules, the complaint SLA, the phrases that make a
complaint an erasure request, and forbidden words for scripts per language.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import orjson
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from crmos.core.errors import Problem, ValidationError

RequestKind = Literal["access", "erasure", "rectification", "opt_out"]
REQUEST_KINDS: tuple[RequestKind, ...] = ("access", "erasure", "rectification", "opt_out")
LawfulBasis = Literal[
    "consent", "opt_out", "legitimate_interest", "contract", "legal_obligation", "forbidden"
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestRule(_Spec):
    """How fast a request type must be answered."""

    deadline_days: int = Field(ge=0, description="Calendar days to answer.")
    extension_days: int = Field(default=0, ge=0, description="Allowed extension, in days.")
    article: str = Field(default="", description="Where the law says so.")


class Purpose(_Spec):
    """A processing purpose and the lawful basis it needs."""

    lawful_basis: LawfulBasis = Field(
        description="consent: needs a granted consent; opt_out: allowed unless withdrawn; "
        "forbidden: never; others: allowed."
    )
    channels: list[str] = Field(default=["*"], description="Channels it covers; * for all.")
    article: str = Field(default="", description="Where the law says so.")


class Transfers(_Spec):
    """Cross-border transfers of personal data."""

    allowed_regions: list[str] = Field(description="Destinations allowed without more; * all.")
    otherwise_requires: list[str] = Field(default=[], description="Safeguards needed otherwise.")


class ComplaintSla(_Spec):
    """How fast a complaint must be answered."""

    hours: float = Field(gt=0, description="Hours to answer.")
    business_hours: bool = Field(
        default=False, description="Count only the responsible team's business hours."
    )
    channels: list[str] = Field(default=["*"], description="Complaint channels it covers.")
    article: str = Field(default="", description="Where the law says so.")


class Scripts(_Spec):
    """Rules for outbound scripts (calls, messages)."""

    forbidden_words: dict[str, list[str]] = Field(
        default={}, description="Language -> words a script must not contain."
    )


class PackSpec(_Spec):
    """One version of a compliance pack."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="Stable snake_case name.")
    name: str = Field(description="Human name of the law.")
    version: str = Field(min_length=1, max_length=80, description="Version of this pack.")
    law: str = Field(default="", description="Citation of the law.")
    regions: list[str] = Field(min_length=1, description="ISO 3166 codes (DE, US-CA) it governs.")
    requests: dict[RequestKind, RequestRule] = Field(default={})
    consent: dict[str, Purpose] = Field(default={})
    retention: dict[str, int] = Field(default={}, description="Category -> days kept at most.")
    transfers: Transfers = Field(default=Transfers(allowed_regions=["*"]))
    complaints: ComplaintSla | None = None
    erasure_phrases: dict[str, list[str]] = Field(default={})
    scripts: Scripts = Field(default=Scripts())

    def governs(self, region: str) -> bool:
        """True when ``region`` (``DE``, ``US-CA``) falls under this pack."""
        return any(region == r or region.startswith(r + "-") for r in self.regions)

    def canonical(self) -> str:
        """The spec as canonical JSON (sorted keys): what is stored and hashed."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS).decode()

    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical`."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def forbidden_in(self, text: str) -> list[str]:
        """Forbidden script words (any language) found in ``text``."""
        words = {w for ws in self.scripts.forbidden_words.values() for w in ws}
        return sorted(w for w in words if contains(text, w))

    def asks_erasure(self, text: str) -> str | None:
        """The erasure phrase found in ``text``, or None."""
        for phrases in self.erasure_phrases.values():
            for phrase in phrases:
                if contains(text, phrase):
                    return phrase
        return None


def contains(text: str, phrase: str) -> bool:
    """``phrase`` in ``text`` as whole words, ignoring case (scripts without spaces between
    words, such as Chinese, match anywhere)."""
    needle = phrase.casefold()
    if not needle.isascii() and all(_unspaced(ch) for ch in needle if not ch.isspace()):
        return needle in text.casefold()
    pattern = rf"(?<!\w){re.escape(needle)}(?!\w)"
    return re.search(pattern, text.casefold()) is not None


def _unspaced(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"


def parse_pack(text: str, source: str = "pack") -> PackSpec:
    """Parse and validate a pack's YAML; every problem is reported with its path, at once."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"{source} is not valid YAML", [Problem("$", str(exc), reason="invalid_yaml")]
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{source} must be a mapping", [Problem("$", "expected a mapping")])
    return pack_from_data(data, source)


def pack_from_data(data: object, source: str = "pack") -> PackSpec:
    """Validate already-parsed pack data (a stored version, a YAML document)."""
    try:
        return PackSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in err["loc"]) or "$", err["msg"], reason=err["type"])
            for err in exc.errors()
        ]
        raise ValidationError(f"{source} is not a valid compliance pack", problems) from exc
