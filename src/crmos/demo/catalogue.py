"""The demo catalogue: countries (names, phones, mail, firms), products, pages, the cast.

Static tables only, kept dense on purpose; the randomness lives in `world` and `episodes`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import accumulate

SITE = "https://www.example.com"
"""The demo seller's web site (a reserved domain, so no real site is ever named)."""


@dataclass(frozen=True, slots=True)
class Country:
    """What the generator needs to know about one country, from locale to local firms."""

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
_US_FICTION = tuple(f"{area}55501" for area in (202, 212, 303, 312, 415, 512, 617, 646))
COUNTRIES = {
    "CN": Country(
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
    "DE": Country(
        "de-DE", "Europe/Berlin", 1, "EUR", ("+49", ("151", "152", "176"), 8),
        ("web.de", "gmx.de", "t-online.de"),
        _names("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schäfer"),
        _names("Lukas Anna Jonas Lea Felix Sophie Maximilian Marie Jürgen Katharina"),
        (("Rheinwerk Maschinenbau GmbH", "rheinwerk-maschinenbau.de", "manufacturing"),
         ("Nordlicht Logistik AG", "nordlicht-logistik.de", "logistics"),
         ("Alpenblick Versicherung AG", "alpenblick-versicherung.de", "insurance"))),
    "BR": Country(
        "pt-BR", "America/Sao_Paulo", -3, "BRL", ("+55", ("119", "219", "319", "419"), 8),
        ("gmail.com", "uol.com.br", "bol.com.br"),
        _names("Silva Santos Oliveira Souza Lima Pereira Costa Ferreira Gonçalves"),
        _names("João Maria Pedro Ana Lucas Juliana Gabriel Beatriz Thiago Fernanda"),
        (("Aurora Varejo Ltda.", "auroravarejo.com.br", "retail"),
         ("Ipê Seguros S.A.", "ipeseguros.com.br", "insurance"),
         ("Serra Azul Indústria Ltda.", "serraazul-industria.com.br", "manufacturing"))),
    "US": Country(  # 555-01xx numbers are reserved for fiction
        "en-US", "America/New_York", -5, "USD", ("+1", _US_FICTION, 2),
        ("gmail.com", "outlook.com", "yahoo.com"),
        _names("Smith Johnson Brown Miller Davis Garcia Wilson Taylor Anderson"),
        _names("James Emily Michael Olivia David Sarah Daniel Jessica Ryan Megan"),
        (("Bluefin Analytics Inc.", "bluefin-analytics.com", "software"),
         ("Cedar Ridge Manufacturing Co.", "cedarridge-mfg.com", "manufacturing"),
         ("Harborline Health Partners", "harborline-health.com", "healthcare"))),
    "JP": Country(
        "ja-JP", "Asia/Tokyo", 9, "JPY", ("+81", ("90", "80", "70"), 8),
        ("yahoo.co.jp", "docomo.ne.jp", "gmail.com"),
        _names("佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 渡辺:watanabe 伊藤:ito"),
        _names("陽翔:haruto 結衣:yui 蓮:ren 美咲:misaki 大翔:hiroto 葵:aoi 湊:minato"),
        (("桜井精密工業株式会社", "sakurai-seimitsu.co.jp", "manufacturing"),
         ("青葉ロジスティクス株式会社", "aoba-logistics.co.jp", "logistics"))),
}
COUNTRY_WEIGHTS = (45, 15, 12, 16, 12)  # in COUNTRIES order
FX = {"CNY": 7.2, "EUR": 0.92, "BRL": 5.0, "USD": 1.0, "JPY": 150.0}
ROLES = ("Procurement Manager", "CTO", "IT Manager", "Operations Director", "CFO",
          "Software Engineer", "Marketing Manager", "Purchasing Agent")
PRODUCTS = (("SKU-1001", "智能温控器 Smart Thermostat", 129.0),
             ("SKU-1002", "Air Purifier", 249.0), ("SKU-2001", "Industrial Sensor Kit", 890.0),
             ("SKU-2002", "Gateway Pro", 1450.0),
             ("SKU-3001", "Filter Pack", 29.0), ("SKU-3002", "Extended Warranty", 99.0))
PAGES = (("Home", "/"), ("Pricing", "/pricing"), ("Products", "/products"),
          ("Customer Stories", "/customers"), ("Blog", "/blog"), ("Security", "/security"),
          ("Getting Started", "/docs/getting-started"), ("Contact Sales", "/contact"))
SCREENS = ("Home", "Product Detail", "Cart", "Orders", "Account", "Service Centre")
MINI_PAGES = ("pages/index/index", "pages/product/detail", "pages/member/center")
CALL_REASONS = ("billing", "delivery", "product question", "installation", "renewal")
COMPLAINTS = {"zh-CN": "送货延迟了一周, 客服一直没有回复。", "ja-JP": "配送が一週間遅れました。",
               "de-DE": "Die Lieferung kam eine Woche zu spät.",
               "pt-BR": "A entrega atrasou uma semana e ninguém retornou.",
               "en-US": "My delivery was a week late and nobody called back."}
ERASURE = ("Sehr geehrte Damen und Herren, ich bin mit Ihrem Service sehr unzufrieden. Bitte "
            "löschen Sie alle meine Daten gemäß Art. 17 DSGVO und bestätigen Sie mir die Löschung.")
LIBRARIES = {"wechat": ("analytics-wechat-miniprogram", "1.4.2"),
              "web": ("analytics.js", "next-1.70.0"), "call_centre": ("analytics-python", "2.3.3"),
              "pos": ("analytics-java", "3.5.1"), "email": ("analytics-python", "2.3.3"),
              "ios": ("analytics-swift", "1.5.11"), "android": ("analytics-kotlin", "1.16.0")}
# Traits a first identify on a touchpoint carries, with the chance of each (scenarios: all).
LINKS = {"wechat": (("wechat_openid", 1.0), ("phone", 0.4)),
          "web": (("email", 1.0), ("phone", 0.5)),  # sign-up and lead forms ask for a phone
          "app": (("email", 0.6), ("phone", 0.6)), "pos": (("pos_member_id", 1.0), ("phone", 0.7)),
          "call_centre": (("phone", 1.0), ("email", 0.3)), "email": (("email", 1.0),)}
# Chance that a person uses a touchpoint, for people outside and inside China.
USE_CHANCES = {cn: (("wechat", 0.95 if cn else 0.1), ("app", 0.55), ("pos", 0.4), ("web", 0.85))
                for cn in (False, True)}
SESSION_WEIGHTS = {"wechat": 3.0, "app": 3.0, "web": 2.0, "call_centre": 0.3, "pos": 0.8}
HOURS = tuple(accumulate((1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 7, 7, 8, 8, 8, 7, 7, 8, 9, 8, 5, 2)))
# The scenario cast: label, country (None: the company's), role, touchpoints they must use.
CAST: tuple[tuple[str, str | None, str, frozenset[str]], ...] = (
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
