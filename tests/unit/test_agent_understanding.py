"""Understanding in Chinese and English: language, entities, sentiment, clauses, intents."""

from __future__ import annotations

import pytest

from crmos.agent.clauses import extract_clauses
from crmos.agent.entities import extract
from crmos.agent.intent_models import IntentModels
from crmos.agent.intents import load_examples
from crmos.agent.sentiment import sentiment
from crmos.agent.text import clean_message, detect_language, search_terms
from crmos.agent.understand import Analyzer
from crmos.core.settings import AgentSettings


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AgentSettings(), IntentModels(None))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我们想续约明年的服务合同", "zh"),
        ("We would like to renew the contract for another year.", "en"),
        ("Ich möchte, dass Sie meine Daten löschen.", "unknown"),
        ("1234 5678 !!!", "unknown"),
    ],
)
def test_detects_chinese_english_and_anything_else_as_unknown(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_greetings_and_sign_offs_are_not_part_of_the_message() -> None:
    assert clean_message("Hi John,\nPlease delete my data.\nBest regards, Anna") == (
        "Please delete my data."
    )
    assert clean_message("张经理您好，请帮我续约。谢谢！") == "请帮我续约。"


def test_finds_money_with_currency_dates_contracts_phones_emails_in_english() -> None:
    text = (
        "Contract CN-2024-0183: we paid $12,500 on March 3, 2025 and owe EUR 3k. "
        "Call +1 415 555 0100 or mail ann@acme.com. Acme Holdings is our company; we use "
        "DataHub Pro.\nBest regards,\nAnn Lee"
    )
    found = {(e.kind, e.value) for e in extract(text)}
    assert {
        ("contract_number", "CN-2024-0183"),
        ("money", "12500.00 USD"),
        ("money", "3000.00 EUR"),
        ("date", "2025-03-03"),
        ("phone", "+14155550100"),
        ("email", "ann@acme.com"),
        ("company", "Acme Holdings"),
        ("product", "DataHub Pro"),
        ("person", "Ann Lee"),
    } <= found


def test_finds_money_dates_contracts_people_and_companies_in_chinese() -> None:
    text = (
        "张经理您好，合同编号：HT2024001，金额人民币5万元，2025年3月1日前付款。"
        "电话13800138000。华星科技有限公司"
    )
    found = {(e.kind, e.value) for e in extract(text, region="CN")}
    assert {
        ("person", "张经理"),
        ("contract_number", "HT2024001"),
        ("money", "50000.00 CNY"),
        ("date", "2025-03-01"),
        ("phone", "+8613800138000"),
        ("company", "华星科技有限公司"),
    } <= found


def test_entity_spans_point_at_the_text_they_name() -> None:
    text = "Please refund USD 1,200 to ann@acme.com"
    for entity in extract(text):
        assert text[entity.start : entity.end] == entity.text


def test_sentiment_sees_negation_and_intensity_in_both_languages() -> None:
    assert sentiment("I am very disappointed, this is unacceptable", "en").label == "negative"
    assert sentiment("Thanks, great support!", "en").label == "positive"
    assert sentiment("The service was not bad at all", "en").score > 0
    assert sentiment("你们的服务太差了，非常失望", "zh").label == "negative"
    assert sentiment("谢谢，非常满意", "zh").label == "positive"


def test_contract_clauses_come_with_their_page_and_span() -> None:
    pages = [
        "1. Term\nThis Agreement commences on 1 January 2025 for two years.\n\n"
        "2. Confidentiality\nSecrets stay secret after the end of the agreement.",
        "3. Limitation of Liability\nTotal liability shall not exceed USD 100,000.\n\n"
        "4. Renewal\nIt renews automatically for successive one-year periods.",
    ]
    clauses = extract_clauses(pages)
    assert [(c.type, c.page) for c in clauses] == [
        ("term", 1), ("liability_cap", 2), ("renewal", 2),
    ]  # fmt: skip
    cap = clauses[1]
    assert pages[1][cap.start : cap.end] == "Total liability shall not exceed USD 100,000."


def test_chinese_contract_clauses_are_found_without_headings() -> None:
    pages = [
        "第1条 本合同期限为两年，自2025年1月1日起至2026年12月31日止。\n"
        "第2条 任何一方提前30日书面通知对方，可解除本合同。"
    ]
    assert [c.type for c in extract_clauses(pages)] == ["term", "termination"]


def test_search_terms_cover_chinese_by_bigrams_and_english_by_stems() -> None:
    assert search_terms("Renewals 续约方案") == ["renew", "续约", "约方", "方案"]


def test_default_model_meets_the_macro_f1_target_on_the_shipped_evaluation_sets() -> None:
    from sklearn.metrics import f1_score

    model = IntentModels(None).get()
    for language in ("en", "zh"):
        examples = load_examples("eval", language)
        predicted = [s.intent for s in model.predict([e.text for e in examples])]
        assert f1_score([e.intent for e in examples], predicted, average="macro") >= 0.85


def test_understands_a_german_deletion_request_as_one_despite_its_language(
    analyzer: Analyzer,
) -> None:
    found = analyzer.analyze_text("Ich beschwere mich und verlange die Löschung meiner Daten.")
    assert found.language == "unknown"
    assert found.understood
    assert found.intent.intent == "data_deletion_request"


def test_text_in_an_unknown_language_is_not_understood_and_says_why(analyzer: Analyzer) -> None:
    found = analyzer.analyze_text("Lorem ipsum dolor sit amet consectetur")
    assert not found.understood
    assert "only Chinese and English" in found.notes[0]
