"""Compliance packs as data: shipped YAML, the entry-point registry, validation with paths."""

from __future__ import annotations

import pytest

from crmos.compliance import PackRegistry, installed_sources, parse_pack
from crmos.core.errors import ValidationError

REQUIRED = {"gdpr", "ccpa", "pipl", "lgpd", "dsa"}


def test_the_five_built_in_packs_are_registered_through_the_entry_point_group() -> None:
    assert set(installed_sources()) >= REQUIRED
    registry = PackRegistry()
    for name in REQUIRED:
        spec = registry.get(name)
        assert spec.id == name
        assert spec.version
        assert spec.regions


def test_each_pack_declares_requests_consent_retention_transfers_and_scripts() -> None:
    registry = PackRegistry()
    for name in ("gdpr", "ccpa", "pipl", "lgpd"):
        spec = registry.get(name)
        assert {"access", "erasure", "rectification", "opt_out"} <= set(spec.requests)
        assert spec.consent and spec.retention and spec.transfers.allowed_regions
        assert spec.scripts.forbidden_words
    assert registry.get("dsa").complaints is not None
    assert registry.get("dsa").complaints.hours == 6  # type: ignore[union-attr]
    assert registry.get("dsa").complaints.business_hours  # type: ignore[union-attr]


def test_a_pack_knows_which_regions_it_governs() -> None:
    registry = PackRegistry()
    assert registry.get("gdpr").governs("DE")
    assert registry.get("gdpr").governs("NO")  # YAML's "Norway problem" is quoted away
    assert registry.get("ccpa").governs("US-CA")
    assert not registry.get("ccpa").governs("US-NY")
    assert registry.get("lgpd").governs("BR") and not registry.get("lgpd").governs("DE")


def test_a_pack_finds_erasure_requests_and_forbidden_words_in_text() -> None:
    gdpr = PackRegistry().get("gdpr")
    assert gdpr.asks_erasure("Bitte LÖSCHEN Sie meine Daten") == "löschen"
    assert gdpr.asks_erasure("Wann kommt meine Lieferung?") is None
    assert gdpr.forbidden_in("Das Angebot ist garantiert risikofrei") == [
        "garantiert",
        "risikofrei",
    ]


def test_an_unknown_pack_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ValidationError, match="did you mean 'gdpr'"):
        PackRegistry().get("gdrp")


def test_a_broken_pack_names_every_problem_with_its_path() -> None:
    text = """
id: Bad Name
name: x
version: "1"
regions: []
requests:
  erasure: {deadline_days: -1}
consent:
  marketing: {lawful_basis: maybe}
"""
    with pytest.raises(ValidationError) as caught:
        parse_pack(text)
    paths = {p.path for p in caught.value.problems}
    assert {
        "id",
        "regions",
        "requests.erasure.deadline_days",
        "consent.marketing.lawful_basis",
    } <= paths


def test_a_pack_that_is_not_yaml_is_refused_not_guessed() -> None:
    with pytest.raises(ValidationError, match="not valid YAML"):
        parse_pack("id: [unclosed")


def test_a_registered_source_under_the_wrong_name_is_refused() -> None:
    registry = PackRegistry({"other": lambda: PackRegistry().get("gdpr").model_dump_json()})
    with pytest.raises(ValidationError, match="wrong name"):
        registry.get("other")
