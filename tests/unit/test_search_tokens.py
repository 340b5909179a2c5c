"""The blind index's tokens (pure): what a profile is findable by and what a query looks for."""

from __future__ import annotations

from crmos.identity.search_tokens import (
    WORD_CAP,
    blind,
    email_tokens,
    identifier_tokens,
    phone_tokens,
    query_terms,
    text_tokens,
)


def test_a_query_term_always_meets_a_token_of_the_text_it_starts() -> None:
    indexed = text_tokens("Maximilian Müller-Lüdenscheidt") | email_tokens(
        "max.mueller@example.com"
    )
    for query in ("max", "maxi", "MÜLLER", "lüdensch", "max.mu", "max.mueller@example.com"):
        for term in query_terms(query):
            assert term & indexed, (query, term)
    assert not ({"mu"} & text_tokens("Emu"))  # only starts of words, not their middles


def test_chinese_names_are_findable_by_character_and_pair_only() -> None:
    indexed = text_tokens("王伟")
    assert {"王", "伟", "王伟"} <= indexed
    assert all(t & indexed for t in query_terms("王伟"))
    assert not all(t & text_tokens("王小伟") for t in query_terms("王伟"))
    assert all(t & text_tokens("王小伟") for t in query_terms("小伟"))


def test_long_words_and_addresses_are_cut_to_the_cap_on_both_sides() -> None:
    word = "internationalisation"
    assert word[:WORD_CAP] in text_tokens(word) and word in text_tokens(word)
    (term,) = query_terms(word)
    assert term == {word[:WORD_CAP]}
    address = "a.very.long.local.part@example-company.com"
    (term,) = query_terms(address[:30])
    assert term & email_tokens(address)


def test_phone_numbers_match_in_international_and_national_form() -> None:
    indexed = phone_tokens("+4915123456789")
    for written in ("+49 151 23456789", "0151 2345 6789", "15123456789", "(0151) 23456789"):
        (term,) = query_terms(written)
        assert term & indexed, written
    assert identifier_tokens("phone", "+8613800138000") >= {"13800138000", "8613800138000"}
    assert query_terms("phone:+49 151 23456789") == query_terms("+49 151 23456789")
    assert query_terms("email:Ann@Example.com") == [{"ann@example.com"}]


def test_tokens_are_keyed_digests_that_differ_per_key() -> None:
    mine, theirs = blind(b"k" * 32, ["alice"]), blind(b"j" * 32, ["alice"])
    assert len(mine[0]) == 16 and mine != theirs
    assert b"alice" not in mine[0]
