"""The demo world: companies, people and their Segment-shaped events, with the ground truth.

Pure and deterministic (stdlib only, no I/O): the same arguments always give the same world, so
`crmos demo`, end-to-end tests and benchmarks can rely on the DESIGN.md scenario stories. Events
of a story carry `demo_scenario` (in `properties`, or in `traits` for identify and group calls);
read it with `scenario_of`.
"""

from __future__ import annotations

import base64
import hashlib
import random
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

TOUCHPOINTS = ("wechat", "app", "web", "call_centre", "pos", "email")
"""Every touchpoint an event can come from (`context.touchpoint`)."""

IDENTIFIERS = (
    ("email", "email"),
    ("phone", "call_centre"),
    ("wechat_openid", "wechat"),
    ("app_user_id", "app"),
    ("device_id", "app"),
    ("pos_member_id", "pos"),
    ("web_anonymous_id", "web"),
)
"""Each `Person` identifier field and the touchpoint whose native key it is."""

SITE = "https://www.example.com"
"""The demo seller's web site (a reserved domain, so no real site is ever named)."""


@dataclass(frozen=True, slots=True)
class Company:
    """A B2B account: the `groupId` of group calls."""

    id: str
    name: str
    domain: str
    industry: str
    country: str


@dataclass(frozen=True, slots=True)
class Person:
    """One real person and every identifier they use; `None` where they do not use it."""

    id: str
    name: str
    company_id: str | None
    email: str
    phone: str
    wechat_openid: str | None
    app_user_id: str | None
    pos_member_id: str | None
    device_id: str | None
    web_anonymous_id: str | None
    country: str
    role: str


@dataclass(frozen=True, slots=True)
class World:
    """A generated world: companies, people and their events sorted by timestamp."""

    companies: list[Company]
    people: list[Person]
    events: list[dict[str, Any]]

    def ground_truth(self) -> list[dict[str, Any]]:
        """One row per (person, identifier): who is who, for scoring identity resolution."""
        return [
            {
                "person_id": p.id,
                "company_id": p.company_id,
                "identifier_type": kind,
                "identifier_value": value,
                "touchpoint": touchpoint,
            }
            for p in self.people
            for kind, touchpoint in IDENTIFIERS
            if (value := getattr(p, kind)) is not None
        ]


def scenario_of(event: dict[str, Any]) -> int | None:
    """The DESIGN.md scenario number an event belongs to, or `None` for background activity."""
    for key in ("properties", "traits"):
        mark = event.get(key, {}).get("demo_scenario")
        if mark is not None:
            return int(mark)
    return None


@dataclass(frozen=True, slots=True)
class _Country:
    locale: str
    timezone: str
    utc_offset: int
    currency: str
    phone: tuple[str, tuple[str, ...], int]  # country code, national prefixes, digits after
    mail: tuple[str, ...]  # consumer mailbox providers
    family: tuple[tuple[str, str], ...]  # (as written, as in an e-mail address)
    given: tuple[tuple[str, str], ...]
    firms: tuple[tuple[str, str, str], ...]  # (name, domain, industry)


_UMLAUTS: dict[str, str | int | None] = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}


def _names(spec: str) -> tuple[tuple[str, str], ...]:
    """Names from "shown:latin" words; a Latin-script word is its own e-mail form, folded."""
    pairs = (word.partition(":") for word in spec.split())
    return tuple((shown, latin or _fold(shown)) for shown, _, latin in pairs)


def _fold(word: str) -> str:
    word = word.lower().translate(str.maketrans(_UMLAUTS))
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


# Data tables, kept dense on purpose.
# fmt: off
_COUNTRIES = {
    "CN": _Country(
        "zh-CN", "Asia/Shanghai", 8, "CNY", ("+86", ("138", "139", "150", "186", "188"), 8),
        ("qq.com", "163.com", "126.com"),
        _names("王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 周:zhou 吴:wu"),
        _names("伟:wei 芳:fang 娜:na 敏:min 静:jing 磊:lei 婷:ting 强:qiang 晓明:xiaoming "
               "思远:siyuan 雨桐:yutong 浩然:haoran"),
        (("华辰智能制造有限公司", "huachen-zhizao.cn", "manufacturing"),
         ("蓝海物流集团", "lanhai-wuliu.cn", "logistics"),
         ("云帆软件科技有限公司", "yunfan-ruanjian.cn", "software"),
         ("青禾零售连锁", "qinghe-lingshou.cn", "retail"),
         ("金穗人寿保险", "jinsui-baoxian.cn", "insurance"),
         ("星河医疗器械有限公司", "xinghe-yiliao.cn", "healthcare"),
         ("远航汽车零部件", "yuanhang-qipei.cn", "manufacturing"),
         ("瑞丰供应链管理", "ruifeng-gongying.cn", "logistics"))),
    "DE": _Country(
        "de-DE", "Europe/Berlin", 1, "EUR", ("+49", ("151", "152", "176"), 8),
        ("web.de", "gmx.de", "t-online.de"),
        _names("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schäfer"),
        _names("Lukas Anna Jonas Lea Felix Sophie Maximilian Marie Jürgen Katharina"),
        (("Rheinwerk Maschinenbau GmbH", "rheinwerk-maschinenbau.de", "manufacturing"),
         ("Nordlicht Logistik AG", "nordlicht-logistik.de", "logistics"),
         ("Alpenblick Versicherung AG", "alpenblick-versicherung.de", "insurance"))),
    "BR": _Country(
        "pt-BR", "America/Sao_Paulo", -3, "BRL", ("+55", ("119", "219", "319", "419"), 8),
        ("gmail.com", "uol.com.br", "bol.com.br"),
        _names("Silva Santos Oliveira Souza Lima Pereira Costa Ferreira Gonçalves"),
        _names("João Maria Pedro Ana Lucas Juliana Gabriel Beatriz Thiago Fernanda"),
        (("Aurora Varejo Ltda.", "auroravarejo.com.br", "retail"),
         ("Ipê Seguros S.A.", "ipeseguros.com.br", "insurance"),
         ("Serra Azul Indústria Ltda.", "serraazul-industria.com.br", "manufacturing"))),
    "US": _Country(  # 555-01xx numbers are reserved for fiction
        "en-US", "America/New_York", -5, "USD", ("+1", ("2025550", "4155550", "3125550"), 3),
        ("gmail.com", "outlook.com", "yahoo.com"),
        _names("Smith Johnson Brown Miller Davis Garcia Wilson Taylor Anderson"),
        _names("James Emily Michael Olivia David Sarah Daniel Jessica Ryan Megan"),
        (("Bluefin Analytics Inc.", "bluefin-analytics.com", "software"),
         ("Cedar Ridge Manufacturing Co.", "cedarridge-mfg.com", "manufacturing"),
         ("Harborline Health Partners", "harborline-health.com", "healthcare"))),
    "JP": _Country(
        "ja-JP", "Asia/Tokyo", 9, "JPY", ("+81", ("90", "80", "70"), 8),
        ("yahoo.co.jp", "docomo.ne.jp", "gmail.com"),
        _names("佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 渡辺:watanabe 伊藤:ito"),
        _names("陽翔:haruto 結衣:yui 蓮:ren 美咲:misaki 大翔:hiroto 葵:aoi 湊:minato"),
        (("桜井精密工業株式会社", "sakurai-seimitsu.co.jp", "manufacturing"),
         ("青葉ロジスティクス株式会社", "aoba-logistics.co.jp", "logistics"))),
}
_COUNTRY_WEIGHTS = (45, 15, 12, 16, 12)  # in _COUNTRIES order
_FX = {"CNY": 7.2, "EUR": 0.92, "BRL": 5.0, "USD": 1.0, "JPY": 150.0}
_ROLES = ("Procurement Manager", "CTO", "IT Manager", "Operations Director", "CFO",
          "Software Engineer", "Marketing Manager", "Purchasing Agent")
_PRODUCTS = (("SKU-1001", "智能温控器 Smart Thermostat", 129.0),
             ("SKU-1002", "Air Purifier", 249.0), ("SKU-2001", "Industrial Sensor Kit", 890.0),
             ("SKU-2002", "Gateway Pro", 1450.0),
             ("SKU-3001", "Filter Pack", 29.0), ("SKU-3002", "Extended Warranty", 99.0))
_PAGES = (("Home", "/"), ("Pricing", "/pricing"), ("Products", "/products"),
          ("Customer Stories", "/customers"), ("Blog", "/blog"), ("Security", "/security"),
          ("Getting Started", "/docs/getting-started"), ("Contact Sales", "/contact"))
_SCREENS = ("Home", "Product Detail", "Cart", "Orders", "Account", "Service Centre")
_MINI_PAGES = ("pages/index/index", "pages/product/detail", "pages/member/center")
_CALL_REASONS = ("billing", "delivery", "product question", "installation", "renewal")
_COMPLAINTS = {"zh-CN": "送货延迟了一周, 客服一直没有回复。", "ja-JP": "配送が一週間遅れました。",
               "de-DE": "Die Lieferung kam eine Woche zu spät.",
               "pt-BR": "A entrega atrasou uma semana e ninguém retornou.",
               "en-US": "My delivery was a week late and nobody called back."}
_ERASURE = ("Sehr geehrte Damen und Herren, ich bin mit Ihrem Service sehr unzufrieden. Bitte "
            "löschen Sie alle meine Daten gemäß Art. 17 DSGVO und bestätigen Sie mir die Löschung.")
_LIBRARIES = {"wechat": ("analytics-wechat-miniprogram", "1.4.2"),
              "web": ("analytics.js", "next-1.70.0"), "call_centre": ("analytics-python", "2.3.3"),
              "pos": ("analytics-java", "3.5.1"), "email": ("analytics-python", "2.3.3"),
              "ios": ("analytics-swift", "1.5.11"), "android": ("analytics-kotlin", "1.16.0")}
# Traits a first identify on a touchpoint carries, with the chance of each (scenarios: all).
_LINKS = {"wechat": (("wechat_openid", 1.0), ("phone", 0.4)), "web": (("email", 1.0),),
          "app": (("email", 0.6), ("phone", 0.6)), "pos": (("pos_member_id", 1.0), ("phone", 0.7)),
          "call_centre": (("phone", 1.0), ("email", 0.3))}
_SESSION_WEIGHTS = {"wechat": 3.0, "app": 3.0, "web": 2.0, "call_centre": 0.3, "pos": 0.8}
_HOURS = tuple(accumulate((1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 7, 7, 8, 8, 8, 7, 7, 8, 9, 8, 5, 2)))
# The scenario cast: label, country (None: the company's), role, touchpoints they must use.
_CAST: tuple[tuple[str, str | None, str, frozenset[str]], ...] = (
    ("renewal", None, "Procurement Manager", frozenset({"web"})),
    ("control", None, "CFO", frozenset({"web"})), ("docs", None, "IT Manager", frozenset({"web"})),
    ("summit_a", None, "Marketing Manager", frozenset({"web"})),
    ("summit_b", "CN", "CEO", frozenset({"wechat"})),
    ("conflict_1", None, "Office Manager", frozenset()),
    ("conflict_2", None, "Purchasing Agent", frozenset({"app"})),
    ("conflict_3", None, "Store Manager", frozenset({"pos"})),
    ("stitched", "CN", "consumer", frozenset({"wechat", "app", "pos"})),
    ("erasure", "DE", "consumer", frozenset({"web"})),
    ("cpf", "BR", "Finance Manager", frozenset({"web"})),
)
# fmt: on


def generate(
    seed: int = 7,
    companies: int = 12,
    people: int = 120,
    days: int = 90,
    now: datetime | None = None,
) -> World:
    """Generate the demo world: `days` of activity up to `now` (default: this hour, UTC).

    Needs at least 3 companies, 20 people (the scenario cast and a promotion audience) and 14
    days; raises `ValueError` otherwise, or when `now` has no time zone.
    """
    end = _reference_time(now)
    _check_sizes(companies, people, days)
    rng = random.Random(seed)
    firms = _make_companies(rng, companies)
    cast, everyone = _make_people(rng, seed, firms, people)
    namespace, by_id = f"{seed}:{companies}:{people}:{days}", {f.id: f for f in firms}
    writer = _Writer(rng, namespace, end, end - timedelta(days=days), by_id)
    for person in everyone:
        _activity(writer, person)
    _episodes(writer, cast, [p for p in everyone if p not in cast.values()])
    writer.events.sort(key=lambda event: (event["timestamp"], event["messageId"]))
    return World(firms, everyone, writer.events)


def _reference_time(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} has no time zone; pass an aware datetime")
    return now.astimezone(UTC)


def _check_sizes(companies: int, people: int, days: int) -> None:
    least = {"companies": (companies, 3), "people": (people, 20), "days": (days, 14)}
    problems = [f"{k}={v} is below {low}" for k, (v, low) in least.items() if v < low]
    if problems:
        raise ValueError("; ".join(problems) + " (the minimum the scenario stories need)")


def _make_companies(rng: random.Random, count: int) -> list[Company]:
    order = list(_COUNTRIES)
    extra = rng.choices(order, _COUNTRY_WEIGHTS, k=max(0, count - len(order)))
    used: dict[str, int] = {}
    firms = []
    for index, code in enumerate(sorted(order[:count] + extra, key=order.index)):
        pool, n = _COUNTRIES[code].firms, used.setdefault(code, 0)
        used[code] += 1
        name, domain, industry = pool[n % len(pool)]
        if n >= len(pool):  # more firms than names: a numbered sister company
            name, domain = f"{name} {n // len(pool) + 1}", f"{n // len(pool) + 1}.{domain}"
        firms.append(Company(f"company-{index + 1:03d}", name, domain, industry, code))
    return firms


def _make_people(
    rng: random.Random, seed: int, firms: list[Company], count: int
) -> tuple[dict[str, Person], list[Person]]:
    """Everyone, in id order; the scenario cast sits at random places among the crowd."""
    slots, taken = rng.sample(range(count), len(_CAST)), set[str]()
    fixed = dict(zip(("summit_a", "summit_b"), rng.sample(firms, 2), strict=True))
    fixed |= dict(zip(("conflict_1", "conflict_2", "conflict_3"), _trio(rng, firms), strict=True))
    fixed["cpf"] = next((f for f in firms if f.country == "BR"), firms[0])
    cast: dict[str, Person] = {}
    for slot, (label, country, role, force) in zip(slots, _CAST, strict=True):
        firm = None if role == "consumer" else fixed.get(label) or rng.choice(firms)
        code = country or (firm.country if firm else "CN")
        cast[label] = _person(rng, seed, slot, code, firm, role, force, taken)
    switchboard = cast["conflict_1"].phone  # scenario 6: one number, three companies
    cast |= {k: replace(cast[k], phone=switchboard) for k in ("conflict_2", "conflict_3")}
    by_id = {person.id: person for person in cast.values()}
    crowd = (
        by_id.get(f"person-{i + 1:04d}") or _crowd(rng, seed, i, firms, taken) for i in range(count)
    )
    return cast, list(crowd)


def _trio(rng: random.Random, firms: list[Company]) -> list[Company]:
    """Three companies of one country if some country has three, else any three."""
    for code in _COUNTRIES:
        local = [f for f in firms if f.country == code]
        if len(local) >= 3:
            return rng.sample(local, 3)
    return rng.sample(firms, 3)


def _crowd(
    rng: random.Random, seed: int, index: int, firms: list[Company], taken: set[str]
) -> Person:
    firm, role = (rng.choice(firms), rng.choice(_ROLES)) if rng.random() < 0.8 else (None, "")
    if firm and rng.random() < 0.9:
        code = firm.country
    else:
        code = rng.choices(list(_COUNTRIES), _COUNTRY_WEIGHTS)[0]
    return _person(rng, seed, index, code, firm, role or "consumer", frozenset(), taken)


def _person(
    rng: random.Random,
    seed: int,
    index: int,
    code: str,
    firm: Company | None,
    role: str,
    force: frozenset[str],
    taken: set[str],
) -> Person:
    """A person; identifiers come from a hash of (seed, id), contact details from the rng."""
    country, pid = _COUNTRIES[code], f"person-{index + 1:04d}"
    (family, family_latin), (given, given_latin) = map(rng.choice, (country.family, country.given))
    domain = firm.domain if firm else rng.choice(country.mail)
    email = _fresh(taken, lambda n: f"{given_latin}.{family_latin}{n or ''}@{domain}")
    prefix, nationals, digits = country.phone
    phone = _fresh(taken, lambda _: prefix + rng.choice(nationals) + _digits(rng, digits))
    uses = {t for t, chance in _USE_CHANCES[code == "CN"] if t in force or rng.random() < chance}
    key = hashlib.sha256(f"crmos-demo:{seed}:{pid}".encode()).digest()
    app = "app" in uses
    return Person(
        id=pid,
        name=f"{family}{given}" if code in ("CN", "JP") else f"{given} {family}",
        company_id=firm.id if firm else None,
        email=email,
        phone=phone,
        wechat_openid="o" + base64.urlsafe_b64encode(key).decode()[:27]
        if "wechat" in uses
        else None,
        app_user_id=f"U{int.from_bytes(key[:8]) % 10**10:010d}" if app else None,
        pos_member_id=f"M{int.from_bytes(key[8:16]) % 10**9:09d}" if "pos" in uses else None,
        device_id=str(uuid.UUID(bytes=key[:16], version=4)) if app else None,
        web_anonymous_id=str(uuid.UUID(bytes=key[16:], version=4)) if "web" in uses else None,
        country=code,
        role=role,
    )


# Chance that a person uses a touchpoint, for people outside and inside China.
_USE_CHANCES = {
    flag: (("wechat", 0.95 if flag else 0.1), ("app", 0.55), ("pos", 0.4), ("web", 0.85))
    for flag in (False, True)
}


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _fresh(taken: set[str], make: Callable[[int], str]) -> str:
    """The first of make(0), make(1), ... not yet taken, now taken."""
    attempt = 0
    while (value := make(attempt)) in taken:
        attempt += 1
    taken.add(value)
    return value


@dataclass(slots=True)
class _Writer:
    """Collects events, each with a messageId that depends only on the arguments and its order."""

    rng: random.Random
    namespace: str
    now: datetime
    start: datetime
    firms: dict[str, Company]
    events: list[dict[str, Any]] = field(default_factory=list)
    serial: int = 0

    def ago(self, days: float = 0, hours: float = 0) -> datetime:
        """A moment before now, jittered by up to 30 minutes so stories do not tick on the hour."""
        jitter = timedelta(milliseconds=self.rng.randrange(1_800_000))
        return self.now - timedelta(days=days, hours=hours) - jitter

    def emit(
        self,
        p: Person,
        touchpoint: str,
        at: datetime,
        kind: str,
        *,
        signed_in: bool = False,
        ids: dict[str, str] | None = None,
        **body: Any,
    ) -> None:
        """Append one event unless it falls outside the window (a session running past it)."""
        self.serial += 1
        if not self.start <= at <= self.now:
            return
        digest = hashlib.sha256(f"{self.namespace}:{self.serial}".encode()).hexdigest()
        event: dict[str, Any] = {"type": kind, "messageId": f"demo-{digest[:24]}"}
        event["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        event.update(ids or _ids(p, touchpoint, signed_in))
        event["context"] = _context(p, touchpoint)
        self.events.append(event | body)

    def track(
        self,
        p: Person,
        touchpoint: str,
        at: datetime,
        name: str,
        props: dict[str, Any],
        signed_in: bool = False,
    ) -> None:
        """Append a track call."""
        self.emit(p, touchpoint, at, "track", signed_in=signed_in, event=name, properties=props)


def _ids(p: Person, touchpoint: str, signed_in: bool) -> dict[str, str]:
    """The identifiers a touchpoint's own system knows a person by."""
    pairs = {
        "wechat": (("anonymousId", p.wechat_openid),),
        "app": (("userId", p.app_user_id), ("anonymousId", p.device_id)),
        "web": (("userId", p.email if signed_in else None), ("anonymousId", p.web_anonymous_id)),
        "call_centre": (("userId", p.phone),),
        "pos": (("userId", p.pos_member_id),),
        "email": (("userId", p.email),),
    }[touchpoint]
    return {key: value for key, value in pairs if value is not None}


def _context(p: Person, touchpoint: str) -> dict[str, Any]:
    country, number = _COUNTRIES[p.country], int(p.id[-4:])
    platform = "ios" if p.device_id and p.device_id[0] < "8" else "android"
    name, version = _LIBRARIES[platform if touchpoint == "app" else touchpoint]
    context: dict[str, Any] = {
        "touchpoint": touchpoint,
        "library": {"name": name, "version": version},
    }
    context |= {"locale": country.locale, "timezone": country.timezone}
    if touchpoint == "web":  # documentation address blocks (RFC 5737)
        context["ip"] = f"{('192.0.2', '198.51.100', '203.0.113')[number % 3]}.{number % 250 + 1}"
    elif touchpoint == "app":
        context["device"] = {"id": p.device_id, "type": platform}
        context["app"] = {"name": "Demo Shop", "version": "5.2.0"}
    return context


def _money(amount_usd: float, currency: str) -> float:
    return round(amount_usd * _FX[currency], 0 if currency == "JPY" else 2)


def _order(w: _Writer, p: Person, **extra: Any) -> dict[str, Any]:
    currency, rng = _COUNTRIES[p.country].currency, w.rng
    items: list[dict[str, Any]] = [
        {"product_id": sku, "sku": sku, "name": name, "price": _money(usd, currency)}
        | {"quantity": rng.randint(1, 3)}
        for sku, name, usd in rng.sample(_PRODUCTS, rng.randint(1, 3))
    ]
    total = round(sum(item["price"] * item["quantity"] for item in items), 2)
    w.serial += 1
    return {"order_id": f"ORD-{w.serial:07d}", "total": total, "revenue": total} | {
        "currency": currency,
        "products": items,
        **extra,
    }


def _page(path: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "url": SITE + path, "title": title, "referrer": "", **extra}


def _step(w: _Writer, at: datetime, low: int = 5, high: int = 180) -> datetime:
    return at + timedelta(seconds=w.rng.randint(low, high))


def _moment(w: _Writer, day: int, code: str) -> datetime:
    """A random time on `day` of the window, weighted towards the person's waking hours."""
    midnight = w.start.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = w.rng.choices(range(24), cum_weights=_HOURS)[0] - _COUNTRIES[code].utc_offset
    return midnight + timedelta(days=day, hours=hour, milliseconds=w.rng.randrange(3_600_000))


def _introduce(
    w: _Writer, p: Person, touchpoint: str, at: datetime, scenario: int = 0, **extra: Any
) -> None:
    """Identify a person on a touchpoint (a scenario links every key), then alias and group."""
    links = [key for key, chance in _LINKS[touchpoint] if scenario or w.rng.random() < chance]
    traits: dict[str, Any] = {"name": p.name, **{key: getattr(p, key) for key in links}, **extra}
    firm = w.firms.get(p.company_id or "")
    if firm:
        traits |= {"title": p.role, "company": {"id": firm.id, "name": firm.name}}
    if scenario:
        traits["demo_scenario"] = scenario
    w.emit(p, touchpoint, at, "identify", signed_in=True, traits=traits)
    new, old = (
        (p.email, p.web_anonymous_id) if touchpoint == "web" else (p.app_user_id, p.device_id)
    )
    if touchpoint in ("web", "app") and new and old and not scenario and w.rng.random() < 0.3:
        w.emit(p, touchpoint, at, "alias", ids={"userId": new}, previousId=old)
    if firm and (scenario or touchpoint == "web"):
        company = {"name": firm.name, "industry": firm.industry, "country": firm.country}
        company["website"] = f"https://{firm.domain}"
        w.emit(
            p,
            touchpoint,
            _step(w, at, 1, 5),
            "group",
            signed_in=True,
            groupId=firm.id,
            traits=company,
        )


def _web(w: _Writer, p: Person, at: datetime) -> None:
    rng, signed_in = w.rng, w.rng.random() < 0.5
    for _ in range(rng.randint(1, 4)):
        name, path = rng.choice(_PAGES)
        w.emit(p, "web", at, "page", signed_in=signed_in, name=name, properties=_page(path, name))
        at = _step(w, at)
    roll, (sku, product, _) = rng.random(), rng.choice(_PRODUCTS)
    if roll < 0.12:  # short dwells: the background to scenario 5's long ones
        props = {"path": "/docs/api", "duration_s": rng.randint(5, 150)}
        w.track(p, "web", at, "API Docs Viewed", props, signed_in)
    elif roll < 0.22:
        props = {"path": "/pricing", "section": rng.choice(("plans", "security", "faq", "sla"))}
        w.track(p, "web", at, "Section Expanded", props, signed_in)
    elif roll < 0.4:
        props = {"product_id": sku, "sku": sku, "name": product}
        w.track(p, "web", at, "Product Viewed", props, signed_in)


def _app(w: _Writer, p: Person, at: datetime) -> None:
    rng = w.rng
    w.track(p, "app", at, "Application Opened", {"from_background": rng.random() < 0.5})
    for _ in range(rng.randint(1, 4)):
        at = _step(w, at, 3, 90)
        w.emit(p, "app", at, "screen", name=rng.choice(_SCREENS), properties={})
    roll, (sku, product, _) = rng.random(), rng.choice(_PRODUCTS)
    if roll < 0.1:
        w.track(p, "app", _step(w, at), "Order Completed", _order(w, p))
    elif roll < 0.35:
        props = {"product_id": sku, "sku": sku, "name": product, "quantity": 1}
        w.track(p, "app", _step(w, at), "Product Added", props)


def _wechat(w: _Writer, p: Person, at: datetime) -> None:
    rng = w.rng
    w.track(p, "wechat", at, "Mini Program Opened", {"scene": rng.choice((1001, 1007, 1047))})
    for _ in range(rng.randint(1, 3)):
        at, path = _step(w, at, 3, 120), rng.choice(_MINI_PAGES)
        w.emit(p, "wechat", at, "page", name=path, properties={"path": path})
    roll = rng.random()
    if roll < 0.08:
        w.track(p, "wechat", _step(w, at), "Order Completed", _order(w, p))
    elif roll < 0.25:
        props = {"coupon_id": f"CPN-{rng.randint(100, 120)}", "discount": 20}
        w.track(p, "wechat", _step(w, at), "Coupon Claimed", props)


def _call(w: _Writer, p: Person, at: datetime) -> None:
    rng = w.rng
    props: dict[str, Any] = {
        "direction": rng.choice(("inbound", "outbound")),
        "reason": rng.choice(_CALL_REASONS),
    }
    props |= {"duration_s": rng.randint(40, 900), "agent_id": f"agent-{rng.randint(1, 40):03d}"}
    w.track(p, "call_centre", at, "Call Completed", props)
    if rng.random() < 0.08:  # background for the complaint SLA (scenario 12)
        locale = _COUNTRIES[p.country].locale
        props = {"channel": "phone", "language": locale[:2], "text": _COMPLAINTS[locale]}
        w.track(p, "call_centre", at, "Complaint Submitted", props)


def _pos(w: _Writer, p: Person, at: datetime) -> None:
    store = f"{p.country}-{w.rng.randint(1, 20):03d}"
    w.track(p, "pos", at, "Order Completed", _order(w, p, store_id=store))


_SESSIONS = {"wechat": _wechat, "app": _app, "web": _web, "call_centre": _call, "pos": _pos}


def _activity(w: _Writer, p: Person) -> None:
    """Background life: sessions on the person's touchpoints, plus e-mail campaigns."""
    rng = w.rng
    calls = rng.random() < 0.35
    uses = (p.wechat_openid, p.app_user_id, p.web_anonymous_id, calls, p.pos_member_id)
    channels = [c for c, used in zip(_SESSION_WEIGHTS, uses, strict=True) if used]
    weights, rate, seen = [_SESSION_WEIGHTS[c] for c in channels], rng.uniform(0.1, 1.3), set()
    for day in range((w.now - w.start).days + 1):
        for _ in range(int(rate) + (rng.random() < rate % 1) if channels else 0):
            channel, at = rng.choices(channels, weights)[0], _moment(w, day, p.country)
            if channel not in seen:
                seen.add(channel)
                _introduce(w, p, channel, at)
                at = _step(w, at, 5, 30)
            _SESSIONS[channel](w, p, at)
    _mailings(w, p)


def _mailings(w: _Writer, p: Person) -> None:
    rng, day = w.rng, w.rng.randint(0, 6)
    while day <= (w.now - w.start).days:
        at, campaign = _moment(w, day, p.country), f"cmp-{day // 7 + 1:02d}"
        w.track(p, "email", at, "Email Delivered", {"campaign_id": campaign})
        if rng.random() < 0.45:
            at += timedelta(minutes=rng.randint(2, 600))
            w.track(p, "email", at, "Email Opened", {"campaign_id": campaign})
            if rng.random() < 0.35:
                props = {"campaign_id": campaign, "url": SITE + "/pricing"}
                w.track(p, "email", _step(w, at), "Email Link Clicked", props)
        day += rng.randint(5, 9)


def _episodes(w: _Writer, cast: dict[str, Person], crowd: list[Person]) -> None:
    """The DESIGN.md scenario stories, each marked with its number."""
    _renewal_risk(w, cast["renewal"], cast["control"])
    _promotion(w, crowd)
    for days, touchpoint in ((13, "wechat"), (10, "app"), (7, "pos"), (4, "call_centre")):
        _introduce(w, cast["stitched"], touchpoint, w.ago(days=days), scenario=3)
    _co_attendance(w, cast["summit_a"], cast["summit_b"])
    _api_docs(w, cast["docs"])
    for days, label, touchpoint in ((11, "1", "call_centre"), (9, "2", "app"), (7, "3", "pos")):
        _introduce(w, cast[f"conflict_{label}"], touchpoint, w.ago(days=days), scenario=6)
    _erasure(w, cast["erasure"])
    _brazil_invoice(w, cast["cpf"])


def _renewal_risk(w: _Writer, buyer: Person, control: Person) -> None:
    """Scenario 1: three comparison views in three days, no form; a control who submits it."""
    for person, hours, is_control in ((buyer, (70, 44, 3), False), (control, (100, 80, 52), True)):
        _introduce(w, person, "web", w.ago(days=13), scenario=1)
        props = _page("/renewal/compare", "Compare renewal plans", demo_scenario=1)
        for hour in hours:
            w.emit(
                person,
                "web",
                w.ago(hours=hour),
                "page",
                signed_in=True,
                name="Renewal Compare",
                properties=props | {"demo_control": is_control},
            )
    props = {"plan": "enterprise", "term_months": 24, "demo_scenario": 1, "demo_control": True}
    w.track(control, "web", w.ago(hours=51), "Renewal Form Submitted", props, signed_in=True)


def _promotion(w: _Writer, crowd: list[Person]) -> None:
    """Scenario 2: a running promotion's audience, three of whom bought in the last 48 h."""
    audience = w.rng.sample(crowd, min(len(crowd), max(6, len(crowd) // 10)))
    promo = {"promotion_id": "promo-spring-sale", "name": "Spring Sale", "demo_scenario": 2}
    for p in audience:
        online = "app" if p.app_user_id else "wechat" if p.wechat_openid else "web"
        at = w.ago(hours=w.rng.randint(50, 200))
        w.track(p, online, at, "Promotion Viewed", dict(promo), signed_in=True)
    for p in audience[:3]:
        shop = "pos" if p.pos_member_id else "app" if p.app_user_id else "web"
        at, order = w.ago(hours=w.rng.randint(2, 46)), _order(w, p, demo_scenario=2)
        w.track(p, shop, at, "Order Completed", order, signed_in=True)


def _co_attendance(w: _Writer, a: Person, b: Person) -> None:
    """Scenario 4: two companies' contacts at one summit livestream; a's company is funded."""
    _introduce(w, a, "web", w.ago(days=13), scenario=4)
    _introduce(w, b, "wechat", w.ago(days=13), scenario=4)
    occasion = {"occasion_id": f"summit-{w.now.year}-{_short(w.namespace)}", "demo_scenario": 4}
    occasion["title"] = "Global Customer Summit 全球客户峰会"
    at = w.ago(days=12)
    w.track(a, "web", at, "Webinar Attended", occasion | {"duration_min": 74}, signed_in=True)
    w.track(
        b, "wechat", at + timedelta(minutes=9), "Livestream Joined", occasion | {"duration_min": 41}
    )
    firm, currency = w.firms[str(a.company_id)], _COUNTRIES[a.country].currency
    news: dict[str, Any] = {"company_id": firm.id, "company_name": firm.name, "round": "Series C"}
    news |= {"amount": _money(50_000_000, currency), "currency": currency, "demo_scenario": 4}
    news["source_url"] = f"https://news.example.com/{firm.id}/series-c"
    w.track(a, "web", w.ago(days=3), "Funding Announced", news, signed_in=True)


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _api_docs(w: _Writer, p: Person) -> None:
    """Scenario 5: long API-reference dwells, the integration section opened again and again."""
    _introduce(w, p, "web", w.ago(days=9), scenario=5)
    for days, dwell in ((6, 262), (2, 214)):
        at, mark = w.ago(days=days), {"path": "/docs/api", "demo_scenario": 5}
        page = _page("/docs/api", "API Reference", demo_scenario=5)
        w.emit(p, "web", at, "page", signed_in=True, name="API Reference", properties=page)
        for second in (40, 95):
            expanded = mark | {"section": "integration"}
            w.track(p, "web", at + timedelta(seconds=second), "Section Expanded", expanded, True)
        viewed = mark | {"duration_s": dwell}
        w.track(p, "web", at + timedelta(seconds=dwell), "API Docs Viewed", viewed, True)


def _erasure(w: _Writer, p: Person) -> None:
    """Scenario 10: a German customer's complaint asks for the deletion of all their data."""
    _introduce(w, p, "web", w.ago(days=12), scenario=10)
    props: dict[str, Any] = {
        "complaint_id": f"CMP-{_short(p.id)}",
        "channel": "email",
        "language": "de",
    }
    props |= {"subject": "Löschung meiner Daten", "demo_scenario": 10}
    props["text"] = f"{_ERASURE} Mit freundlichen Grüßen, {p.name}"
    w.track(p, "email", w.ago(hours=20), "Complaint Submitted", props)


def _brazil_invoice(w: _Writer, p: Person) -> None:
    """Scenario 11: a CPF trait, then an invoice request with a mistyped CPF and a good one."""
    cpf = _checked([w.rng.randint(0, 9) for _ in range(9)], tuple(range(11, 1, -1)))
    cnpj = _checked([*(w.rng.randint(0, 9) for _ in range(8)), 0, 0, 0, 1], _CNPJ_WEIGHTS)
    good = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    _introduce(w, p, "web", w.ago(days=8), scenario=11, cpf=good)
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    company = f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}"
    for hours, number in ((30, typo), (29, good)):
        props: dict[str, Any] = {
            "cpf": number,
            "cnpj": company,
            "amount": _money(890, "BRL"),
            "currency": "BRL",
        }
        props |= {"demo_scenario": 11, "demo_valid": number == good}
        w.track(p, "web", w.ago(hours=hours), "Invoice Requested", props, signed_in=True)


_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _checked(digits: list[int], weights: tuple[int, ...]) -> str:
    """Digits followed by their two mod-11 check digits (the CPF and CNPJ rule)."""
    for skip in (1, 0):
        remainder = sum(d * k for d, k in zip(digits, weights[skip:], strict=True)) % 11
        digits = [*digits, 0 if remainder < 2 else 11 - remainder]
    return "".join(map(str, digits))
