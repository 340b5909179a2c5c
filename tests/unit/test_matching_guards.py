"""Guards on batch merges: clashing first names, namesake colleagues, records that fit two."""

from __future__ import annotations

from crmos.identity.matching.guards import (
    date_clash,
    forename_clash,
    mailbox_clash,
    pet_name,
    similar_names,
    torn,
)


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


def test_a_record_sure_of_a_relative_it_clearly_differs_from_is_not_torn_by_them() -> None:
    # The card is sure of the twin 静 too, but that pair clashes on the first name and never
    # merges: the card fits one person, 娜, and may merge with her other records.
    traits = {
        "card": {"firstName": "娜", "birthday": "1975-10-11"},
        "pos": {"firstName": "娜", "birthday": "1975-10-11"},
        "wechat": {"firstName": "娜"},
        "twin": {"firstName": "静", "birthday": "1975-10-11"},
    }
    pairs = [("card", "pos"), ("card", "wechat"), ("card", "twin"), ("pos", "twin")]
    assert torn(pairs, traits, ["firstName"], ["birthday"]) == set()
    assert torn([*pairs, ("wechat", "twin")], traits, ["firstName"], ["birthday"]) == set()


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


def test_pet_forms_of_a_first_name_are_one_name() -> None:
    assert pet_name("Luki", "Lukas") and pet_name("Kathi", "Katharina")
    assert pet_name("Nanda", "Fernanda") and pet_name("Andy", "Andrew")
    assert pet_name("远远", "思远") and pet_name("思远", "远远")
    assert similar_names("Jürgi", "Jürgen")


def test_names_that_only_share_a_letter_or_two_are_not_pet_forms() -> None:
    assert not pet_name("Bi", "Bianca")
    assert not pet_name("Ana", "Hana")
    assert not pet_name("远远", "远远")
    assert not pet_name("明明", "晓远")
    assert not similar_names("Ben", "Lena")


def test_two_addresses_at_one_mail_domain_are_two_mailboxes() -> None:
    first = {"email": "ting.liu@lanhai.cn"}
    assert mailbox_clash(first, {"email": "ting.liu1@lanhai.cn"}, ["email"]) == ["email"]
    assert mailbox_clash(first, {"email": "Ting.Liu@Lanhai.cn"}, ["email"]) == []
    assert mailbox_clash(first, {"email": "ting.liu@qq.com"}, ["email"]) == []
    assert mailbox_clash(first, {}, ["email"]) == []


def test_a_record_that_fits_two_namesake_colleagues_with_their_own_mailboxes_is_torn() -> None:
    traits = {
        "wechat": {"firstName": "婷"},
        "crm_a": {"firstName": "婷", "email": "ting.liu@lanhai.cn"},
        "crm_b": {"firstName": "婷", "email": "ting.liu1@lanhai.cn"},
    }
    pairs = [("wechat", "crm_a"), ("wechat", "crm_b")]
    same = {"wechat": "acme", "crm_a": "acme", "crm_b": "acme"}
    assert torn(pairs, traits, ["firstName"], [], ["email"], same) == {"wechat"}
    apart = {**same, "crm_b": "globex"}
    assert torn(pairs, traits, ["firstName"], [], ["email"], apart) == set()
    assert torn(pairs, traits, ["firstName"], [], ["email"]) == set()
