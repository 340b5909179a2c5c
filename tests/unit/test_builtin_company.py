"""The renewal chain's components read Segment's company trait in both of its shapes."""

from __future__ import annotations

from crmos.playbooks.builtin import company_of


def test_a_company_object_gives_its_id_as_the_customer_and_its_name_for_people() -> None:
    traits = {"company": {"id": "company-001", "name": "华辰智能制造有限公司", "industry": "x"}}

    assert company_of(traits) == ("company-001", "华辰智能制造有限公司")


def test_a_customer_id_trait_is_the_erp_key_before_the_company() -> None:
    traits = {"customer_id": "C-42", "company": {"id": "company-001", "name": "Acme"}}

    assert company_of(traits) == ("C-42", "Acme")


def test_a_plain_company_name_is_both_key_and_name_and_none_is_none() -> None:
    assert company_of({"company": "Acme"}) == ("Acme", "Acme")
    assert company_of({}) == (None, None)
