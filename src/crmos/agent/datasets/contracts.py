"""The labelled contract set: contracts in English and Chinese, pages of sections, and the span
of every term, renewal, termination, price-adjustment and liability-cap clause.

Sections are drawn (seeded) from several wordings per clause type, with distractor sections
that use the same words in another sense (confidentiality that "survives termination", force
majeure "neither party shall be liable", payment terms about fees). Headings are sometimes
left out, so the extractor cannot rely on them.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files
from pathlib import Path

SEED = 7

CLAUSES_EN: dict[str, list[tuple[str, str]]] = {
    "term": [
        (
            "Term",
            "This Agreement commences on {start} and remains in force for an initial term "
            "of {years} years.",
        ),
        (
            "Duration",
            "The agreement shall be effective from the Effective Date and shall "
            "continue for a period of {months} months.",
        ),
        ("Term of Agreement", "The term of this Agreement begins on {start} and ends on {end}."),
        ("Validity", "This contract is valid for {years} years from the date of signature."),
    ],
    "renewal": [
        (
            "Renewal",
            "Upon expiry, this Agreement shall automatically renew for successive "
            "one-year periods unless either party gives written notice of non-renewal at least "
            "{days} days before the end of the then-current term.",
        ),
        (
            "Extension",
            "The parties may extend the agreement by mutual written consent for a "
            "further period of {months} months.",
        ),
        (
            "Automatic Renewal",
            "The subscription renews automatically each year on the anniversary date.",
        ),
        (
            "Renewal Term",
            "Any renewal term shall be on the same terms and conditions, save as "
            "otherwise agreed in writing.",
        ),
    ],
    "termination": [
        (
            "Termination",
            "Either party may terminate this Agreement upon {days} days' written "
            "notice to the other party.",
        ),
        (
            "Termination for Cause",
            "Either party may terminate this Agreement with immediate "
            "effect if the other party commits a material breach and fails to remedy it within "
            "{days} days.",
        ),
        (
            "Early Termination",
            "The Customer may end this Agreement before the end of the term "
            "by paying an early termination fee equal to {pct}% of the remaining fees.",
        ),
        ("Cancellation", "The Supplier may cancel the order if the Customer becomes insolvent."),
    ],
    "price_adjustment": [
        (
            "Price Adjustment",
            "The Supplier may adjust the fees once per year by no more than "
            "the change in the consumer price index (CPI).",
        ),
        ("Fee Increases", "Prices will increase by {pct}% at the start of each renewal term."),
        (
            "Indexation",
            "All unit prices are subject to annual indexation in line with the "
            "published inflation rate, with {days} days' prior notice.",
        ),
        (
            "Changes to Prices",
            "The Supplier may revise its price list upon {days} days' notice; "
            "revised prices apply from the next invoice.",
        ),
    ],
    "liability_cap": [
        (
            "Limitation of Liability",
            "Each party's aggregate liability under this Agreement "
            "shall not exceed the fees paid in the twelve months preceding the claim.",
        ),
        ("Liability", "In no event shall the Supplier's total liability exceed {amount}."),
        (
            "Cap on Liability",
            "The maximum liability of either party for all claims is limited "
            "to {pct}% of the total contract value.",
        ),
        (
            "Limits",
            "The Supplier's liability for damages of any kind is capped at the amount "
            "of fees payable for the affected service.",
        ),
    ],
}

DISTRACTORS_EN: list[tuple[str, str]] = [
    ("Parties", "This agreement is made between {a} and {b}."),
    ("Services", "The Supplier shall provide the services described in Schedule 1."),
    (
        "Fees and Payment",
        "The Customer shall pay the fees within thirty days of the invoice "
        "date. Late payments bear interest.",
    ),
    (
        "Confidentiality",
        "Each party shall keep the other's confidential information secret; "
        "this obligation survives the end of the agreement for three years.",
    ),
    (
        "Force Majeure",
        "Neither party is responsible for delays caused by events beyond its reasonable control.",
    ),
    ("Governing Law", "This Agreement is governed by the laws of {law}."),
    ("Notices", "Notices shall be sent in writing to the addresses stated above."),
    (
        "Data Protection",
        "The Supplier processes personal data only on documented instructions of the Customer.",
    ),
    ("Assignment", "Neither party may assign this Agreement without prior written consent."),
]

CLAUSES_ZH: dict[str, list[tuple[str, str]]] = {
    "term": [
        ("合同期限", "本合同期限为{years}年，自{start}起至{end}止。"),
        ("有效期", "本协议自双方签字盖章之日起生效，有效期{months}个月。"),
        ("服务期限", "服务期限自{start}开始，为期{years}年。"),
    ],
    "renewal": [
        ("续约", "合同期满前{days}日内任何一方未书面提出异议的，本合同自动续期一年。"),
        ("续签", "期满后双方可协商续签，续签条件另行约定。"),
        ("合同延续", "本合同到期后自动顺延{months}个月，顺延次数不限。"),
    ],
    "termination": [
        ("合同解除", "任何一方提前{days}日书面通知对方，可解除本合同。"),
        ("违约解除", "一方严重违约且在{days}日内未纠正的，守约方有权立即解除本合同。"),
        ("提前终止", "客户提前终止合同的，应支付剩余服务费的{pct}%作为违约金。"),
    ],
    "price_adjustment": [
        ("价格调整", "供应商每年可根据居民消费价格指数（CPI）调整服务价格一次。"),
        ("调价", "续约时服务单价上调{pct}%。"),
        (
            "价格变动",
            "原材料价格波动超过{pct}%时，双方可协商调整合同价格，并提前{days}日书面通知。",
        ),
    ],
    "liability_cap": [
        ("责任限制", "任何一方在本合同项下的累计赔偿责任不超过合同总金额。"),
        ("赔偿上限", "供应商的最高赔偿责任以{amount}为限。"),
        ("责任限额", "因本合同产生的全部索赔，赔偿总额不超过违约方已收取费用的{pct}%。"),
    ],
}

DISTRACTORS_ZH: list[tuple[str, str]] = [
    ("合同双方", "甲方：{a}；乙方：{b}。"),
    ("服务内容", "乙方按照附件一约定向甲方提供技术服务。"),
    ("付款方式", "甲方应在收到发票后三十日内支付服务费，逾期付款的应支付滞纳金。"),
    ("保密", "双方对在合作中获悉的商业秘密负有保密义务，该义务在合作结束后三年内继续有效。"),
    ("不可抗力", "因不可抗力导致延迟履行的，受影响一方不承担违约后果。"),
    ("争议解决", "因本合同引起的争议，提交{law}仲裁委员会仲裁。"),
    ("通知", "一切通知应以书面形式发送至本合同首页所列地址。"),
    ("知识产权", "乙方交付成果的知识产权归甲方所有。"),
]

# Held-out wordings, written after the extractor's rules and never used to tune them: the
# contracts built from these measure how the rules carry over to unseen phrasing.
HELDOUT_EN: dict[str, list[tuple[str, str]]] = {
    "term": [
        ("Period of Performance", "Work under this contract runs from {start} through {end}."),
        ("Commencement", "The engagement starts on signature and lasts {months} months."),
    ],
    "renewal": [
        (
            "Continuation",
            "Unless cancelled in writing {days} days before expiry, the contract "
            "rolls over for another year on identical conditions.",
        ),
        (
            "Options to Extend",
            "The Customer has the option to prolong the service for two additional years.",
        ),
    ],
    "termination": [
        (
            "Ending the Contract",
            "Either side may end the contract at any time by giving "
            "{days} days' notice in writing.",
        ),
        (
            "Exit",
            "If the Supplier breaches a material obligation, the Customer may withdraw "
            "from the agreement immediately.",
        ),
    ],
    "price_adjustment": [
        (
            "Rate Review",
            "Hourly rates are reviewed each January and may rise in line with labour costs.",
        ),
        (
            "Cost Pass-Through",
            "Increases in the cost of raw materials above {pct}% may be "
            "passed on to the Customer after consultation.",
        ),
    ],
    "liability_cap": [
        (
            "Damages",
            "Compensation payable by the Supplier for any loss will in no case be "
            "greater than {amount}.",
        ),
        (
            "Exclusions",
            "The Supplier is not liable for indirect losses, and its liability for "
            "direct losses is restricted to the annual contract value.",
        ),
    ],
}

HELDOUT_ZH: dict[str, list[tuple[str, str]]] = {
    "term": [
        ("履行期间", "本项目履行期间为{start}至{end}。"),
        ("起止时间", "合作自签署之日开始，持续{months}个月。"),
    ],
    "renewal": [
        ("到期处理", "到期前{days}日未书面取消的，合同按原条件再延长一年。"),
        ("延长选择权", "甲方有权选择将服务再延长两年。"),
    ],
    "termination": [
        ("退出", "任何一方可随时提前{days}日书面告知对方后结束合作。"),
        ("单方解约", "乙方违反主要义务的，甲方可立即退出本协议。"),
    ],
    "price_adjustment": [
        ("费率复核", "每年一月复核人工费率，可随人工成本相应提高。"),
        ("成本传导", "原材料成本涨幅超过{pct}%的部分，经协商后可转由甲方承担。"),
    ],
    "liability_cap": [
        ("损失赔偿", "乙方对任何损失的赔付金额在任何情况下均不高于{amount}。"),
        ("责任排除", "乙方不承担间接损失，直接损失的赔付以年度合同金额为上限。"),
    ],
}

VALUES = {
    "start": ["1 January 2025", "March 1, 2026", "2025-07-01"],
    "end": ["31 December 2027", "February 28, 2029", "2028-06-30"],
    "years": ["one", "two", "three"],
    "months": ["12", "24", "36"],
    "days": ["30", "60", "90"],
    "pct": ["3", "5", "20"],
    "amount": ["USD 500,000", "EUR 1,000,000", "the fees paid in the last year"],
    "a": ["Acme Corp", "Globex Ltd"],
    "b": ["Initech GmbH", "Umbrella Inc."],
    "law": ["England and Wales", "the State of New York", "Germany"],
}
VALUES_ZH = {
    "start": ["2025年1月1日", "2026年3月1日"],
    "end": ["2027年12月31日", "2029年2月28日"],
    "years": ["一", "两", "三"],
    "months": ["12", "24"],
    "days": ["30", "60", "90"],
    "pct": ["3", "5", "20"],
    "amount": ["人民币50万元", "合同总价的百分之三十"],
    "a": ["华星科技有限公司", "东方制造集团"],
    "b": ["海川信息技术有限公司", "远航物流有限公司"],
    "law": ["上海", "北京", "深圳"],
}


def _contract(
    rng: random.Random, language: str, number: int, heldout: bool = False
) -> dict[str, object]:
    banks = {
        ("en", False): CLAUSES_EN, ("en", True): HELDOUT_EN,
        ("zh", False): CLAUSES_ZH, ("zh", True): HELDOUT_ZH,
    }  # fmt: skip
    clauses = banks[(language, heldout)]
    distractors = DISTRACTORS_ZH if language == "zh" else DISTRACTORS_EN
    values = VALUES_ZH if language == "zh" else VALUES
    kinds = [k for k in clauses if rng.random() < 0.85]
    sections = [(k, rng.choice(clauses[k])) for k in kinds]
    sections += [("", d) for d in rng.sample(distractors, 5)]
    rng.shuffle(sections)
    pages: list[str] = []
    labels: list[dict[str, object]] = []
    per_page = rng.choice((3, 4))
    for index in range(0, len(sections), per_page):
        page, page_labels = _page(rng, sections[index : index + per_page], values, language, index)
        labels += [{**label, "page": len(pages) + 1} for label in page_labels]
        pages.append(page)
    ident = f"{language}-{'heldout-' if heldout else ''}{number:02d}"
    return {
        "id": ident,
        "language": language,
        "heldout": heldout,
        "pages": pages,
        "clauses": labels,
    }


def _page(
    rng: random.Random,
    sections: list[tuple[str, tuple[str, str]]],
    values: dict[str, list[str]],
    language: str,
    first: int,
) -> tuple[str, list[dict[str, object]]]:
    text, labels = "", []
    for offset, (kind, (heading, body)) in enumerate(sections, start=first + 1):
        filled = body.format(**{k: rng.choice(v) for k, v in values.items()})
        number = f"第{offset}条" if language == "zh" else f"{offset}."
        title = f"{number} {heading}\n" if rng.random() < 0.7 else f"{number} "
        text += title
        if kind:
            labels.append({"type": kind, "start": len(text), "end": len(text) + len(filled)})
        text += filled + "\n\n"
    return text, labels


def build(count_per_language: int = 12, heldout_per_language: int = 6) -> list[dict[str, object]]:
    """The contract set (seeded, so the shipped file can be regenerated exactly)."""
    rng = random.Random(SEED)
    plan = [(lang, n, False) for lang in ("en", "zh") for n in range(1, count_per_language + 1)]
    plan += [(lang, n, True) for lang in ("en", "zh") for n in range(1, heldout_per_language + 1)]
    return [_contract(rng, language, n, heldout) for language, n, heldout in plan]


def write(root: Path | None = None) -> tuple[Path, int]:
    """Write ``data/contracts/contracts.json``."""
    target = root or Path(str(files("crmos.agent") / "data" / "contracts"))
    target.mkdir(parents=True, exist_ok=True)
    path = target / "contracts.json"
    contracts = build()
    path.write_text(json.dumps(contracts, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path, len(contracts)
