"""Identifiers and their normalisation: one canonical spelling per value, or a stated reason.

E-mail addresses go through ``email-validator`` (syntax only, no DNS) and are compared without
case; phone numbers become E.164 through ``phonenumbers``, using the workspace's default region
only for numbers written without a country code. A value that does not normalise is rejected
with the reason, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crmos.core.errors import Problem, ValidationError

BUILTIN_TYPES = (
    "user_id",
    "anonymous_id",
    "email",
    "phone",
    "wechat_openid",
    "wechat_unionid",
    "device_id",
    "pos_member_id",
)
"""Identifier types crmos knows; workspaces add their own through ``identity.trait_types``."""

TRAIT_TYPES = {
    "email": "email",
    "phone": "phone",
    "wechat_openid": "wechat_openid",
    "wechat_unionid": "wechat_unionid",
    "device_id": "device_id",
    "pos_member_id": "pos_member_id",
}
"""Trait names read as identifiers (from ``traits`` and ``context.traits``)."""

MAX_LENGTH = 255
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_WECHAT = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalised identifier: its type and canonical value."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """An identifier that failed normalisation: what, where in the event, and why."""

    type: str
    raw: str
    path: str
    reason: str


def valid_type_name(name: str) -> bool:
    """True for a usable identifier type name: lower snake_case, at most 40 characters."""
    return bool(_TYPE_NAME.match(name))


def normalise(kind: str, raw: Any, region: str = "") -> str:
    """The canonical value of ``raw`` as a ``kind`` identifier; ``ValueError`` says why not."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"must be a string, not {type(raw).__name__}")
    text = str(raw).strip()
    if not text:
        raise ValueError("is empty")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"is longer than {MAX_LENGTH} characters")
    if kind == "email":
        return _email(text)
    if kind == "phone":
        return _phone(text, region)
    if kind in ("wechat_openid", "wechat_unionid") and not _WECHAT.match(text):
        raise ValueError("is not a WeChat id (6-64 letters, digits, '-' or '_')")
    return text


def _email(text: str) -> str:
    fast = _plain_email(text)
    if fast is not None:
        return fast
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not an e-mail address: {exc}") from exc
    # Nearly every mail provider ignores case in the local part too; compare without it.
    return checked.normalized.lower()


# The common case, an unquoted ASCII local part at a domain email-validator accepts, needs no
# per-address check beyond RFC 5322's dot-atom and the lengths: the domain's verdict (its
# IDNA/UTS-46 checks are the costly part) is the same for every address at it, so it is asked
# once per domain. Anything else goes through email-validator whole. A property test holds
# both paths to the same answers.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_DOMAINS: dict[str, str | None] = {}


def _plain_email(text: str) -> str | None:
    """``text`` normalised without email-validator's per-address work, or None: ask it."""
    local, at, domain = text.rpartition("@")
    if not at or len(local) > 64 or not domain.isascii() or not _DOT_ATOM.match(local):
        return None
    if domain not in _DOMAINS:
        if len(_DOMAINS) > 10_000:
            _DOMAINS.clear()
        try:
            _DOMAINS[domain] = validate_email("a@" + domain, check_deliverability=False).domain
        except EmailNotValidError:
            _DOMAINS[domain] = None
    canonical = _DOMAINS[domain]
    if canonical is None:
        return None
    address = f"{local}@{canonical}"
    return address.lower() if len(address) <= 254 else None


def _phone(text: str, region: str) -> str:
    fast = _plain_e164(text)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise ValueError(
                "has no country code and the workspace has no default region; write it as "
                "+<country code><number> or set identity.default_region"
            ) from exc
        raise ValueError(f"is not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        where = f" (default region {region})" if region and not text.startswith("+") else ""
        raise ValueError(f"is not a valid phone number{where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def auto_type(text: str) -> str:
    """The type of a ``userId`` under ``auto``: email, phone (+E.164) or user_id."""
    if "@" in text:
        try:
            _email(text)
        except ValueError:
            return "user_id"
        return "email"
    if text.startswith("+") and text[1:].replace(" ", "").replace("-", "").isdigit():
        try:
            _phone(text, "")
        except ValueError:
            return "user_id"
        return "phone"
    return "user_id"


def parse_identifier(
    text: str, region: str = "", types: frozenset[str] | None = None
) -> Identifier:
    """``type:value`` (as in ``?identifier=email:alice@example.com``), normalised."""
    kind, sep, raw = text.partition(":")
    known = types if types is not None else frozenset(BUILTIN_TYPES)
    if not sep or not raw:
        raise ValidationError(
            "malformed identifier",
            [Problem("identifier", f"'{text}' is not TYPE:VALUE, e.g. email:alice@example.com")],
        )
    if kind not in known:
        valid = ", ".join(sorted(known))
        raise ValidationError(
            "unknown identifier type",
            [Problem("identifier", f"unknown type '{kind}'; valid types: {valid}")],
        )
    try:
        return Identifier(kind, normalise(kind, raw, region))
    except ValueError as exc:
        raise ValidationError(
            "malformed identifier", [Problem("identifier", f"{kind} '{raw}' {exc}")]
        ) from exc


# Most phone numbers that reach the stitcher are already E.164 (+<country code><number>).
# phonenumbers' general parser (ten-odd regular expressions for extensions, letters, national
# prefixes...) takes two thirds of a first sighting's cost for them, yet learns nothing a split
# of the digits at the country code does not: country codes are prefix-free (ITU-T E.164).
# phonenumbers still decides validity. Anything else goes through the parser whole; a property
# test holds both paths to the same answers.
_E164 = re.compile(r"\+([1-9][0-9]{5,14})\Z")


def _plain_e164(text: str) -> str | None:
    """``text`` when it is a valid E.164 number without a leading national zero; else None."""
    match = _E164.match(text)
    if match is None:
        return None
    digits = match.group(1)
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national[0] == "0":
                return None  # Italian-style leading zeros: the parser's flags, not ours
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            return text if phonenumbers.is_valid_number(number) else None
    return None
