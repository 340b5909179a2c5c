"""Entities in English and Chinese text: rules, plus ``phonenumbers`` for phones.

Kinds: ``money`` (amount + ISO currency), ``date`` (ISO, ``--MM-DD`` when the year is not
written), ``contract_number``, ``product``, ``person``, ``company``, ``phone`` (E.164),
``email``. Every entity keeps its character span in the text it came from.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import phonenumbers

from crmos.agent.names import SURNAMES


@dataclass(frozen=True, slots=True)
class Entity:
    """A mention: its kind, the text as written, a normalised value and its span."""

    kind: str
    text: str
    value: str
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "text": self.text,
            "value": self.value,
            "span": [self.start, self.end],
        }


_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "千": 1e3, "万": 1e4, "亿": 1e8}
_CURRENCY = {
    "$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD", "美元": "USD",
    "€": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR", "欧元": "EUR",
    "£": "GBP", "gbp": "GBP", "pounds": "GBP", "英镑": "GBP",
    "¥": "CNY", "￥": "CNY", "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "元": "CNY", "块": "CNY",
    "人民币": "CNY", "jpy": "JPY", "日元": "JPY", "brl": "BRL", "r$": "BRL",
}  # fmt: skip
_MONEY_BEFORE = re.compile(
    r"(?P<cur>US\$|R\$|USD|EUR|GBP|CNY|RMB|JPY|BRL|人民币|[$€£¥￥])\s?(?P<num>" + _NUM + r")"
    r"(?:\s?(?P<scale>k|m|million|thousand|千|万|亿)(?![a-z]))?(?:元)?",
    re.IGNORECASE,
)
# The number may not start inside a run of digits: each start in a long run would scan the
# rest of it again (quadratic; 100,000 digits took minutes), and a match there is a fragment.
_MONEY_AFTER = re.compile(
    r"(?<!\d)(?P<num>" + _NUM + r")\s?(?:(?P<scale>k|m|million|thousand|千|万|亿)(?![a-z])\s?)?"
    r"(?P<cur>USD|EUR|GBP|CNY|RMB|JPY|BRL|dollars?|euros?|pounds|yuan|美元|欧元|英镑|日元|元|块)"
    r"(?![a-z])",
    re.IGNORECASE,
)
_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for m in names
}  # fmt: skip
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATES = [
    # digit boundaries, not \b: in "2026-10-03收到" the CJK character is a word character
    re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?:(?P<y>\d{4})\s?年\s?)?(?P<m>\d{1,2})\s?月\s?(?P<d>\d{1,2})\s?[日号]"),
    re.compile(
        rf"\b(?P<mn>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mn>{_MONTH_RE})\.?(?:,?\s+(?P<y>\d{{4}}))?\b",
        re.IGNORECASE,
    ),
]
_CONTRACT = [
    re.compile(
        r"(?:contract|agreement|合同|协议)\s*(?:no\.?|number|#|编号|号)?\s*[:：]?\s*"
        r"(?P<id>[A-Z]{1,6}[-_/]?\d[\w/-]{2,})",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?P<id>(?:CN|CT|CTR|HT|AGR|MSA|SOW|PO)-?\d{3,}(?:[-/]\d+)*)\b"),
]
# Starts only where an address can (not inside a run of its characters), which keeps a long
# run without "@" linear instead of quadratic.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_COMPANY_EN = re.compile(
    r"\b(?P<name>[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,3})\s+"
    r"(?P<suffix>Inc\.?|Ltd\.?|LLC|LLP|GmbH|Corp\.?|Corporation|Co\., Ltd\.?|AG|S\.A\.|S\.L\."
    r"|SAS|B\.V\.|BV|PLC|Limited"
    r"|Group|Industries|Enterprises|Holdings)(?!\w)"
)
_COMPANY_ZH = re.compile(r"[\u4e00-\u9fff]{2,12}?(?:股份有限公司|有限责任公司|有限公司|集团|公司)")
_ZH_LEAD = re.compile(
    r"^(?:我们|我司|贵司|你们|他们|使用|用|和|与|跟|是|在|的|由|向|给|请|本|买|购买)+"
)
_PRODUCT_EN = re.compile(
    r"\b[A-Z][A-Za-z0-9]+(?:\s[A-Z][A-Za-z0-9]+)?\s(?:Pro|Enterprise|Cloud|Suite|Platform"
    r"|Edition|Plus|Premium|Analytics|CRM|ERP|POS)\b"
)
# Words that start a sentence or clause, never a company or product ("The Booking Cloud").
_EN_LEAD = re.compile(
    r"^(?:(?:The|Our|Your|Their|This|That|These|Please|We|I|Hi|Hello|Dear|And)\s+)+"
)
# Characters that end the words before a Chinese product name (verbs, particles, dates):
# "签了电网监测系统" -> 电网监测系统, "老师开智慧课堂专业版" -> 智慧课堂专业版.
_ZH_PRODUCT_STOP = re.compile(
    r"[\d的了看开签用在和与把给对来要想到迁从向是为将被让买购加换续师们年月日号]"
)
_PRODUCT_ZH = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9]{2,6}?(?P<word>系统|平台|套件|模块|企业版|标准版|专业版)"
)
_PERSON_EN = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s[A-Z][a-z]+(?:\s[A-Z][a-z]+)?")
_SIGNED_EN = re.compile(
    r"(?:regards|thanks|cheers|sincerely),?\s*\n\s*([A-Z][a-z]+(?:\s[A-Z][a-z]+)+)\s*$", re.I | re.M
)
_TITLES_ZH = "经理|总监|主任|先生|女士|小姐|老师|总|工|律师|博士"
_PERSON_ZH = re.compile(
    rf"(?<![\u4e00-\u9fff])[{SURNAMES}](?:[\u4e00-\u9fff]{{1,2}}?)?(?:{_TITLES_ZH})"
)
_SPEAKER_ZH = re.compile(rf"^(?P<n>[{SURNAMES}][\u4e00-\u9fff]{{1,2}})\s*[:：]", re.M)


def extract(text: str, region: str = "CN", products: Sequence[str] = ()) -> list[Entity]:
    """Every entity in ``text``; overlapping mentions keep the longest."""
    found = [
        *_money(text), *_dates(text), *_contracts(text), *_emails(text), *_phones(text, region),
        *_companies(text), *_products(text, products), *_people(text),
    ]  # fmt: skip
    return _without_overlaps(found)


def _money(text: str) -> Iterator[Entity]:
    for pattern in (_MONEY_BEFORE, _MONEY_AFTER):
        for m in pattern.finditer(text):
            amount = float(m["num"].replace(",", "")) * _SCALE.get((m["scale"] or "").lower(), 1)
            currency = _CURRENCY.get(m["cur"].lower(), m["cur"].upper())
            raw = m.group(0).strip()
            yield Entity("money", raw, f"{amount:.2f} {currency}", m.start(), m.start() + len(raw))


def _dates(text: str) -> Iterator[Entity]:
    for pattern in _DATES:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            month = int(groups["m"]) if groups.get("m") else _MONTHS[groups["mn"].lower()]
            day = int(groups["d"])
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            year = groups.get("y")
            value = f"{year}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"
            yield Entity("date", m.group(0), value, m.start(), m.end())


def _contracts(text: str) -> Iterator[Entity]:
    for pattern in _CONTRACT:
        for m in pattern.finditer(text):
            ident = m["id"].rstrip(".,;-/")
            start = m.start("id")
            yield Entity("contract_number", ident, ident.upper(), start, start + len(ident))


def _emails(text: str) -> Iterator[Entity]:
    for m in _EMAIL.finditer(text):
        yield Entity("email", m.group(0), m.group(0).lower(), m.start(), m.end())


# Candidates the phone matcher tries per text: its default (65,535) let a 100,000-character
# message of digit groups take 13 s; a real message has a few dozen.
PHONE_TRIES = 1000


def _phones(text: str, region: str) -> Iterator[Entity]:
    for match in phonenumbers.PhoneNumberMatcher(text, region, max_tries=PHONE_TRIES):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        yield Entity("phone", match.raw_string, e164, match.start, match.end)


def _companies(text: str) -> Iterator[Entity]:
    for m in _COMPANY_EN.finditer(text):
        lead = _EN_LEAD.match(m.group(0))
        start = m.start() + (lead.end() if lead else 0)
        if start < m.start("suffix"):
            name = text[start : m.end()]
            yield Entity("company", name, name, start, m.end())
    for m in _COMPANY_ZH.finditer(text):
        lead = _ZH_LEAD.match(m.group(0))
        cut = lead.end() if lead else 0
        name = m.group(0)[cut:]
        if len(name) > 3:
            yield Entity("company", name, name, m.start() + cut, m.end())


def _products(text: str, known: Sequence[str]) -> Iterator[Entity]:
    for name in known:
        for m in re.finditer(re.escape(name), text, re.IGNORECASE):
            yield Entity("product", m.group(0), name, m.start(), m.end())
    for m in _PRODUCT_EN.finditer(text):
        lead = _EN_LEAD.match(m.group(0))
        start = m.start() + (lead.end() if lead else 0)
        if " " in text[start : m.end()]:
            yield Entity("product", text[start : m.end()], text[start : m.end()], start, m.end())
    for m in _PRODUCT_ZH.finditer(text):
        lead = _ZH_LEAD.match(m.group(0))
        start = m.start() + (lead.end() if lead else 0)
        stops = [s.end() for s in _ZH_PRODUCT_STOP.finditer(text, start, m.start("word"))]
        start = max([start, *stops])
        if m.end() - start >= 3:
            yield Entity("product", text[start : m.end()], text[start : m.end()], start, m.end())


def _people(text: str) -> Iterator[Entity]:
    for pattern in (_PERSON_EN, _PERSON_ZH):
        for m in pattern.finditer(text):
            yield Entity("person", m.group(0), m.group(0), m.start(), m.end())
    for m in _SIGNED_EN.finditer(text):
        yield Entity("person", m.group(1), m.group(1), m.start(1), m.end(1))
    for m in _SPEAKER_ZH.finditer(text):
        yield Entity("person", m["n"], m["n"], m.start("n"), m.end("n"))


def _without_overlaps(found: list[Entity]) -> list[Entity]:
    # Longest first; the kept spans are disjoint and held in start order, so one bisect finds
    # the only two a new span could overlap (checking all of them was quadratic: 12,500
    # addresses in one message took 70 s).
    starts: list[int] = []
    kept: list[Entity] = []
    for entity in sorted(found, key=lambda e: (-(e.end - e.start), e.start)):
        i = bisect.bisect_left(starts, entity.start)
        if (i == 0 or kept[i - 1].end <= entity.start) and (
            i == len(kept) or entity.end <= kept[i].start
        ):
            starts.insert(i, entity.start)
            kept.insert(i, entity)
    return kept
