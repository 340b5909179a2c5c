"""Field validators per country from well-kept libraries: python-stdnum, phonenumbers,
email-validator. Pure: a validator takes a value and returns it normalised or raises.

Names are stable strings used in workspace settings: ``br.cpf``, ``br.cnpj``, ``eu.vat``,
``iban``, ``cn.ric``, ``email``, ``phone`` (international), ``phone:BR`` (national numbers of a
region), and ``stdnum:MODULE`` for any other python-stdnum module (``stdnum:de.idnr``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType

import email_validator
import phonenumbers
from stdnum import exceptions as stdnum_errors

from crmos.core.errors import Problem, ValidationError, did_you_mean


class InvalidValue(ValidationError):
    """A value a validator refused: ``reason`` is a stable word, ``message`` says why."""

    code = "invalid_value"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


Validator = Callable[[str], str]

# Short names for the stdnum modules most workspaces need.
STDNUM_ALIASES = {
    "br.cpf": "br.cpf",
    "br.cnpj": "br.cnpj",
    "eu.vat": "eu.vat",
    "iban": "iban",
    "cn.ric": "cn.ric",
    "cn.uscc": "cn.uscc",
    "de.idnr": "de.idnr",
    "de.stnr": "de.stnr",
    "es.nif": "es.nif",
    "fr.siren": "fr.siren",
    "it.codicefiscale": "it.codicefiscale",
    "in.pan": "in.pan",
    "us.ssn": "us.ssn",
    "bic": "bic",
}
_REASONS = {
    stdnum_errors.InvalidChecksum: "invalid_checksum",
    stdnum_errors.InvalidLength: "invalid_length",
    stdnum_errors.InvalidFormat: "invalid_format",
    stdnum_errors.InvalidComponent: "invalid_component",
}


def known_validators() -> list[str]:
    """The validator names a workspace may configure (plus ``phone:XX``, ``stdnum:MODULE``)."""
    return sorted([*STDNUM_ALIASES, "email", "phone"])


@lru_cache(maxsize=256)
def validator(name: str) -> Validator:
    """The validator called ``name``; an unknown name lists the valid ones."""
    if name == "email":
        return _email
    if name == "phone" or name.startswith("phone:"):
        region = name.partition(":")[2].upper() or None
        return lambda value: _phone(value, region)
    module_name = STDNUM_ALIASES.get(name) or (name[7:] if name.startswith("stdnum:") else None)
    module = _stdnum(module_name) if module_name else None
    if module is None:
        raise unknown_validator(name)
    return lambda value: _stdnum_check(module, value)


def describe(name: str) -> str:
    """What ``name`` checks, in words (the first line of the library's documentation)."""
    if name == "email":
        return "e-mail address (email-validator)"
    if name.startswith("phone"):
        return "phone number (phonenumbers)"
    module_name = STDNUM_ALIASES.get(name) or name.removeprefix("stdnum:")
    module = _stdnum(module_name)
    doc = (module.__doc__ or name).strip().splitlines()[0] if module else name
    return doc.rstrip(".")


def check(name: str, path: str, value: object) -> Problem | None:
    """A :class:`Problem` naming ``path`` when ``value`` fails validator ``name``, else None."""
    try:
        validator(name)(str(value))
    except InvalidValue as exc:
        return Problem(path, f"not a valid {describe(name)}: {exc.message}", reason=exc.reason)
    return None


def unknown_validator(name: str) -> ValidationError:
    """The error for a validator name that does not exist."""
    close = did_you_mean(name, known_validators())
    hint = f"{close} " if close else ""
    message = (
        f"unknown validator '{name}'; {hint}use one of {', '.join(known_validators())}, "
        "phone:XX or stdnum:MODULE"
    )
    return ValidationError(
        f"unknown validator '{name}'", [Problem("validator", message, reason="unknown_validator")]
    )


@lru_cache(maxsize=128)
def _stdnum(module_name: str) -> ModuleType | None:
    if not module_name.replace(".", "").replace("_", "").isalnum():
        return None
    try:
        module = importlib.import_module(f"stdnum.{module_name}")
    except ImportError:
        return None
    return module if hasattr(module, "validate") else None


def _stdnum_check(module: ModuleType, value: str) -> str:
    try:
        return str(module.validate(value))
    except stdnum_errors.ValidationError as exc:
        reason = next((r for cls, r in _REASONS.items() if isinstance(exc, cls)), "invalid")
        raise InvalidValue(reason, _plain(str(exc))) from None


def _plain(message: str) -> str:
    return message.rstrip(".").replace("The number's", "its").replace("The number", "it")


def _email(value: str) -> str:
    try:
        return str(email_validator.validate_email(value, check_deliverability=False).normalized)
    except email_validator.EmailNotValidError as exc:
        raise InvalidValue("invalid_format", str(exc).rstrip(".")) from None


def _phone(value: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else "; write it with its country code (+55 ...)"
        raise InvalidValue("invalid_format", f"{str(exc._msg).rstrip('.')}{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("invalid_number", "no such number is assigned in its numbering plan")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
