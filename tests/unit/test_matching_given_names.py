"""First names across scripts and cultures: English nicknames from a list, Japanese readings."""

from __future__ import annotations

import duckdb

from crmos.identity.matching.given_names import english_nickname, readings, same_reading
from crmos.identity.matching.guards import forename_clash, similar_names
from crmos.identity.matching.names import NAME_LEVELS, needs_name_level, one_name


def test_listed_english_nicknames_are_one_name_with_their_full_form() -> None:
    assert english_nickname("Mike", "Michael") and english_nickname("william", "Bill")
    assert english_nickname("Bob", "Robert") and english_nickname("Dave", "David")
    assert not english_nickname("John", "James")
    assert not english_nickname("Peter", "Paul")
    assert not english_nickname("Mike", "Mike")  # the same spelling is not a nickname


def test_a_japanese_name_in_kana_or_latin_letters_reads_as_its_kanji() -> None:
    assert same_reading("はると", "陽翔") and same_reading("ハルト", "陽翔")
    assert same_reading("Haruto", "陽翔") and same_reading("陽翔", "はると")
    assert same_reading("ゆい", "結衣") and same_reading("ひな", "陽菜")
    assert same_reading("Yuma", "悠真") and same_reading("Yūma", "悠真")
    assert not same_reading("ゆい", "美咲")
    assert not same_reading("はると", "大翔")
    # Two kanji names are not compared by sound: 陽翔 and 晴翔 are two names.
    assert not same_reading("晴翔", "陽翔")


def test_readings_come_from_name_readings_not_only_the_reading_a_converter_picks() -> None:
    assert "ようしょう" in readings("陽翔")  # what pykakasi reads
    assert "はると" in readings("陽翔")  # 陽 as in 陽菜 (はるな), 翔 as in 翔ぶ (とぶ)
    assert readings("陽菜") == {"はるな", "ひな"}  # the dictionary's entry for the name


def test_the_merge_guard_accepts_nicknames_and_readings_as_one_first_name() -> None:
    assert similar_names("Mike", "Michael") and similar_names("はると", "陽翔")
    assert forename_clash({"f": "Bill"}, {"f": "William"}, ["f"]) == []
    assert forename_clash({"f": "はると"}, {"f": "結衣"}, ["f"]) == ["f"]


def test_each_name_level_can_be_left_out() -> None:
    assert one_name("Mike", "Michael") and one_name("はると", "陽翔")
    assert not one_name("Mike", "Michael", ("pinyin", "pet_form", "japanese_reading"))
    assert not one_name("はると", "陽翔", ("pinyin", "pet_form", "english_nickname"))
    assert set(NAME_LEVELS) == {"pinyin", "pet_form", "english_nickname", "japanese_reading"}


def test_the_name_level_is_added_where_first_names_call_for_it() -> None:
    con = duckdb.connect()
    con.execute("create table latin as select * from (values ('Anna'), ('Ben')) v(first)")
    con.execute("create table nick as select * from (values ('Mike'), ('Michael')) v(first)")
    con.execute("create table kana as select * from (values ('はると'), ('Ben')) v(first)")
    assert not needs_name_level(con, ("latin",), "first")
    assert needs_name_level(con, ("nick",), "first")
    assert not needs_name_level(con, ("nick",), "first", ("pinyin", "pet_form"))
    assert needs_name_level(con, ("kana",), "first")
    assert not needs_name_level(con, ("kana",), "first", ())
