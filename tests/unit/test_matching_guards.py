"""Guards on batch merges: clashing first names and records that fit two relatives."""

from __future__ import annotations

from crmos.identity.matching_guards import date_clash, forename_clash, similar_names, torn


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


def test_chinese_names_that_sound_the_same_are_one_name_mistyped() -> None:
    assert similar_names("思远", "思元")
    assert similar_names("磊", "蕾")
    assert forename_clash({"firstName": "静"}, {"firstName": "晶"}, ["firstName"]) == []


def test_chinese_names_that_sound_different_still_clash() -> None:
    assert not similar_names("静", "敏")
    assert not similar_names("思远", "雨桐")
    assert not similar_names("思远", "思明")
    assert not similar_names("思远", "远")
    assert forename_clash({"firstName": "磊"}, {"firstName": "芳"}, ["firstName"]) == ["firstName"]


def test_birth_dates_clash_unless_equal_or_day_and_month_swapped() -> None:
    left = {"birthday": "1990-03-05"}
    assert date_clash(left, {"birthday": "1990-05-03"}, ["birthday"]) == []
    assert date_clash(left, {"birthday": "1990-03-05"}, ["birthday"]) == []
    assert date_clash(left, {}, ["birthday"]) == []
    assert date_clash(left, {"birthday": "1991-03-05"}, ["birthday"]) == ["birthday"]


def test_a_record_that_fits_two_namesakes_born_on_different_days_is_torn() -> None:
    traits = {
        "card": {"firstName": "娜"},
        "buyer_a": {"firstName": "娜", "birthday": "1996-06-14"},
        "buyer_b": {"firstName": "娜", "birthday": "1998-11-30"},
        "app": {"firstName": "娜", "birthday": "1996-14-06"},
    }
    pairs = [("card", "buyer_a"), ("card", "buyer_b")]
    assert torn(pairs, traits, ["firstName"], ["birthday"]) == {"card"}
    assert torn(pairs, traits, ["firstName"]) == set()
    assert (
        torn([("card", "buyer_a"), ("card", "app")], traits, ["firstName"], ["birthday"]) == set()
    )
