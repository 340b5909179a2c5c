"""Guards on batch merges: clashing first names and records that fit two relatives."""

from __future__ import annotations

from crmos.identity.matching_guards import forename_clash, similar_names, torn


def test_a_short_form_a_typo_or_another_case_is_one_name() -> None:
    assert similar_names("Max", "Maximilian")
    assert similar_names("Katharina", "Kathraina")
    assert similar_names(" jonas", "Jonas")
    assert not similar_names("Jing", "Min")
    assert not similar_names("静", "敏")


def test_first_names_clash_only_where_both_records_have_one() -> None:
    left = {"firstName": "Anna", "lastName": "Weber"}
    assert forename_clash(left, {"firstName": "Lea"}, ["firstName"]) == ["firstName"]
    assert forename_clash(left, {"lastName": "Weber"}, ["firstName"]) == []
    assert forename_clash(left, {"firstName": "Anna"}, ["firstName"]) == []


def test_a_record_that_fits_two_relatives_with_different_first_names_is_torn() -> None:
    traits = {
        "wechat": {"birthday": "1994-05-23"},
        "twin_a": {"firstName": "静"},
        "twin_b": {"firstName": "敏"},
        "app": {"firstName": "静"},
    }
    assert torn([("wechat", "twin_a"), ("wechat", "twin_b")], traits, ["firstName"]) == {"wechat"}
    assert torn([("wechat", "twin_a"), ("wechat", "app")], traits, ["firstName"]) == set()
    assert torn([("wechat", "twin_a")], traits, ["firstName"]) == set()


def test_two_neighbouring_letters_swapped_after_the_first_are_a_typo() -> None:
    assert similar_names("Ana", "Aan")
    assert similar_names("Lea", "Lae")
    assert not similar_names("Ana", "Naa")
    assert not similar_names("Jim", "Tim")
    assert forename_clash({"firstName": "Ana"}, {"firstName": "Aan"}, ["firstName"]) == []
