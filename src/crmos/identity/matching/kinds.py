"""What a column holds, read from its name (English or Chinese) and from its values.

Pure. Names are split into words (``soc_sec_id`` -> soc, sec, id; ``firstName`` -> first,
name) and looked up per kind; values are tested for e-mail addresses, phone numbers and
dates (with their ``strptime`` format).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal, get_args

Kind = Literal[
    "forename",
    "surname",
    "name",
    "date",
    "postcode",
    "house_number",
    "address",
    "locality",
    "region",
    "phone",
    "email",
    "identifier",
    "category",
    "text",
]
KINDS: tuple[Kind, ...] = get_args(Kind)

# Column-name tokens per kind, tried in this order (the first kind with a hit wins), so that
# ``address_city`` is a locality and ``address_postal_code`` a postcode.
_NAME_TOKENS: tuple[tuple[Kind, frozenset[str]], ...] = (
    ("email", frozenset({"email", "mail", "emailaddress"})),
    ("phone", frozenset({"phone", "mobile", "tel", "telephone", "cell", "msisdn", "fax"})),
    ("date", frozenset({"dob", "birth", "birthday", "birthdate", "born", "date", "bday"})),
    ("forename", frozenset({"given", "first", "forename", "fname", "firstname", "givenname"})),
    ("surname", frozenset({"surname", "last", "family", "lname", "lastname", "familyname"})),
    ("postcode", frozenset({"postcode", "zip", "zipcode", "postal", "plz", "cep", "pincode"})),
    ("house_number", frozenset({"housenumber", "streetnumber", "houseno", "streetno"})),
    ("locality", frozenset({"suburb", "city", "town", "locality", "village", "municipality"})),
    ("region", frozenset({"state", "region", "province", "county", "country", "prefecture"})),
    ("address", frozenset({"address", "addr", "street", "road", "line", "line1", "line2"})),
    ("name", frozenset({"name", "fullname", "customer", "person", "company", "organisation"})),
    ("identifier", frozenset({"id", "ssn", "sin", "nin", "passport", "cpf", "cnpj", "tax"})),
    ("category", frozenset({"gender", "sex", "title", "nationality"})),
)
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y")


def tokens(column: str) -> list[str]:
    """``soc_sec_id`` -> ``['soc', 'sec', 'id']``; ``firstName`` -> ``['first', 'name']``."""
    return [t.lower() for t in _TOKEN.findall(column)]


def kind_from_name(column: str) -> Kind | None:
    """The kind a column name suggests, or ``None``; Chinese headers are read too."""
    if not column.isascii():
        return _cjk_kind(column)
    parts = tokens(column)
    words = {*parts, "".join(parts)}
    return next((kind for kind, names in _NAME_TOKENS if words & names), None)


# Chinese header words per kind, tried in order (``出生日期`` is a date before it is a name).
_CJK_WORDS: tuple[tuple[Kind, tuple[str, ...]], ...] = (
    ("email", ("邮箱", "电子邮件", "电邮")),
    ("phone", ("电话", "手机", "联系方式")),
    ("date", ("出生", "生日", "日期")),
    ("postcode", ("邮编", "邮政编码")),
    ("house_number", ("门牌",)),
    ("locality", ("城市", "区县")),
    ("region", ("省", "国家")),
    ("address", ("地址", "街道")),
    ("identifier", ("身份证", "证件", "会员号", "编号")),
    ("category", ("性别",)),
    ("name", ("姓名", "名字", "名称", "客户")),
    ("surname", ("姓氏",)),
)
_CJK_EXACT: dict[str, Kind] = {"姓": "surname", "名": "forename"}


def _cjk_kind(column: str) -> Kind | None:
    text = column.strip()
    if text in _CJK_EXACT:
        return _CJK_EXACT[text]
    return next((kind for kind, words in _CJK_WORDS if any(w in text for w in words)), None)


def date_format(values: Iterable[str], share: float = 0.8) -> str | None:
    """The first format in :data:`DATE_FORMATS` that parses ``share`` of ``values``."""
    sample = [v for v in values if v][:200]
    if not sample:
        return None
    for fmt in DATE_FORMATS:
        ok = sum(1 for v in sample if _parses(v, fmt))
        if ok >= share * len(sample):
            return fmt
    return None


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def date_formats(parts: Sequence[Sequence[str]], share: float = 0.8) -> tuple[str, ...] | None:
    """The date format of each part (input file), or ``None`` if any part is not dates."""
    found = [date_format(part, share) for part in parts if part]
    if not found or any(f is None for f in found):
        return None
    formats = tuple(f for f in found if f is not None)
    return formats[:1] if len(set(formats)) == 1 else formats


def kind_from_values(
    parts: Sequence[Sequence[str]],
) -> tuple[Kind, tuple[str, ...]] | None:
    """The kind the values (a sample per input file) suggest: e-mail, phone or date."""
    values = [v for part in parts for v in part if v][:400]
    if len(values) < 5:
        return None
    if sum(1 for v in values if _EMAIL.match(v)) >= 0.9 * len(values):
        return "email", ()
    formats = date_formats(parts, share=0.9)
    if formats is not None:
        return "date", formats
    digits = [v for v in values if _PHONE.match(v)]
    if len(digits) >= 0.9 * len(values) and _digit_count(values) >= 7:
        return "phone", ()
    return None


def _digit_count(values: Sequence[str]) -> float:
    return sum(sum(c.isdigit() for c in v) for v in values) / len(values)
