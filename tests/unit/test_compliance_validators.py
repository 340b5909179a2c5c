"""Field validators per country (python-stdnum, phonenumbers, email-validator) and jurisdictions."""

from __future__ import annotations

import pytest

from crmos.compliance import check, known_validators, phone_region, regions_of, validator
from crmos.core.errors import ValidationError


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("br.cpf", "390.533.447-05"),
        ("br.cnpj", "11.222.333/0001-81"),
        ("eu.vat", "DE136695976"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("cn.ric", "11010519491231002X"),
        ("email", "li.wei@example.com"),
        ("phone", "+55 11 91234-5678"),
        ("phone:BR", "(11) 91234-5678"),
        ("stdnum:fr.siren", "552 008 443"),
    ],
)
def test_valid_numbers_pass(name: str, value: str) -> None:
    assert check(name, "traits.x", value) is None


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("br.cpf", "123.456.789-00", "invalid_checksum"),
        ("br.cpf", "123", "invalid_length"),
        ("br.cnpj", "11.222.333/0001-00", "invalid_checksum"),
        ("eu.vat", "DE136695970", "invalid_checksum"),
        ("iban", "DE89 3704 0044 0532 0130 01", "invalid_checksum"),
        ("email", "not-an-address", "invalid_format"),
        ("phone", "12345", "invalid_format"),
    ],
)
def test_invalid_numbers_are_refused_naming_the_field_and_the_reason(
    name: str, value: str, reason: str
) -> None:
    problem = check(name, "traits.cpf", value)
    assert problem is not None
    assert problem.path == "traits.cpf"
    assert problem.reason == reason
    assert "not a valid" in problem.message


def test_the_cpf_message_says_what_a_cpf_is() -> None:
    problem = check("br.cpf", "traits.cpf", "123.456.789-00")
    assert problem is not None and "CPF" in problem.message and "check digit" in problem.message


def test_an_unknown_validator_suggests_the_closest_name() -> None:
    with pytest.raises(ValidationError) as caught:
        validator("br.cfp")
    assert "did you mean 'br.cpf'" in caught.value.problems[0].message
    assert "br.cpf" in known_validators()


def test_regions_come_from_country_traits_addresses_and_phones() -> None:
    assert regions_of({"country": "DE"}) == ("DE",)
    assert regions_of({"country": "Deutschland"}) == ("DE",)
    assert regions_of({"address": {"country": "US", "state": "CA"}}) == ("US-CA",)
    assert regions_of({"address": "Rua Augusta 1, São Paulo, Brasil"}) == ("BR",)
    assert regions_of({"phone": "+86 138 0013 8000"}) == ("CN",)
    assert regions_of({"country": "BR", "phone": "+49 30 1234567"}) == ("BR", "DE")
    assert regions_of({}, default="de") == ("DE",)
    assert regions_of({}) == ()
    assert phone_region("no number") is None
