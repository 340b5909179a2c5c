"""The DESIGN.md scenario stories, and the `Writer` that every demo event goes through.

Story events carry `demo_scenario` (in `properties`, or `traits` for identify and group).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crmos.demo.catalogue import (
    COMPLAINTS,
    COUNTRIES,
    ERASURE,
    FX,
    HOURS,
    LIBRARIES,
    LINKS,
    PRODUCTS,
    SITE,
)
from crmos.demo.model import Company, Person
from crmos.demo.personal import recorded

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(slots=True)
class Writer:
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
    country, number = COUNTRIES[p.country], int(p.id[-4:])
    platform = "ios" if p.device_id and p.device_id[0] < "8" else "android"
    name, version = LIBRARIES[platform if touchpoint == "app" else touchpoint]
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
    return round(amount_usd * FX[currency], 0 if currency == "JPY" else 2)


def order_properties(w: Writer, p: Person, **extra: Any) -> dict[str, Any]:
    """An Order Completed payload: one to three products priced in the person's currency."""
    currency, rng = COUNTRIES[p.country].currency, w.rng
    items: list[dict[str, Any]] = [
        {"product_id": sku, "sku": sku, "name": name, "price": _money(usd, currency)}
        | {"quantity": rng.randint(1, 3)}
        for sku, name, usd in rng.sample(PRODUCTS, rng.randint(1, 3))
    ]
    total = round(sum(item["price"] * item["quantity"] for item in items), 2)
    w.serial += 1
    order = {"order_id": f"ORD-{w.serial:07d}", "total": total, "revenue": total}
    return order | {"currency": currency, "products": items, **extra}


def page_properties(path: str, title: str, **extra: Any) -> dict[str, Any]:
    """A page call's properties for a path on the demo site."""
    return {"path": path, "url": SITE + path, "title": title, "referrer": "", **extra}


def step(w: Writer, at: datetime, low: int = 5, high: int = 180) -> datetime:
    """A moment `low` to `high` seconds after `at`: the next click in a session."""
    return at + timedelta(seconds=w.rng.randint(low, high))


def moment(w: Writer, day: int, code: str) -> datetime:
    """A random time on `day` of the window, weighted towards the person's waking hours."""
    midnight = w.start.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = w.rng.choices(range(24), cum_weights=HOURS)[0] - COUNTRIES[code].utc_offset
    return midnight + timedelta(days=day, hours=hour, milliseconds=w.rng.randrange(3_600_000))


def introduce(
    w: Writer, p: Person, touchpoint: str, at: datetime, scenario: int = 0, **extra: Any
) -> None:
    """Identify a person on a touchpoint (a scenario links every key), then alias and group.

    The traits are what that touchpoint's system holds: its own copy of the person's name,
    birthday and address (`crmos.demo.personal.recorded`), and the identifiers it links.
    """
    links = [key for key, chance in LINKS[touchpoint] if scenario or w.rng.random() < chance]
    traits: dict[str, Any] = {**recorded(w.rng, touchpoint, p), **extra}
    traits |= {key: getattr(p, key) for key in links}
    firm = w.firms.get(p.company_id or "")
    if firm:
        traits |= {"title": p.role, "company": {"id": firm.id, "name": firm.name}}
    if scenario:
        traits["demo_scenario"] = scenario
    w.emit(p, touchpoint, at, "identify", signed_in=True, traits=traits)
    if not scenario and w.rng.random() < 0.3:
        _alias(w, p, touchpoint, at)
    if firm and (scenario or touchpoint == "web"):
        company = {"name": firm.name, "industry": firm.industry, "country": firm.country}
        company["website"] = f"https://{firm.domain}"
        at = step(w, at, 1, 5)
        w.emit(p, touchpoint, at, "group", signed_in=True, groupId=firm.id, traits=company)


def _alias(w: Writer, p: Person, touchpoint: str, at: datetime) -> None:
    """Tie a web cookie to the e-mail, or an app device to the user id, after sign-up."""
    new, old = (
        (p.email, p.web_anonymous_id) if touchpoint == "web" else (p.app_user_id, p.device_id)
    )
    if touchpoint in ("web", "app") and new and old:
        w.emit(p, touchpoint, at, "alias", ids={"userId": new, "anonymousId": old}, previousId=old)


def scenarios(w: Writer, cast: dict[str, Person], crowd: list[Person]) -> None:
    """The DESIGN.md scenario stories, each marked with its number."""
    _renewal_risk(w, cast["renewal"], cast["control"])
    _promotion(w, crowd)
    for days, touchpoint in ((13, "wechat"), (10, "app"), (7, "pos"), (4, "call_centre")):
        introduce(w, cast["stitched"], touchpoint, w.ago(days=days), scenario=3)
    _co_attendance(w, cast["summit_a"], cast["summit_b"])
    _api_docs(w, cast["docs"])
    for days, label, touchpoint in ((11, "1", "call_centre"), (9, "2", "app"), (7, "3", "pos")):
        introduce(w, cast[f"conflict_{label}"], touchpoint, w.ago(days=days), scenario=6)
    _erasure(w, cast["erasure"])
    _brazil_invoice(w, cast["cpf"])
    _insurance_renewal(w, crowd)  # after the others: the rng draws above stay as they were
    _dsa_complaint(w, crowd)


def _renewal_risk(w: Writer, buyer: Person, control: Person) -> None:
    """Scenario 1: three comparison views in three days, no form; a control who submits it."""
    for person, hours, is_control in ((buyer, (70, 44, 3), False), (control, (100, 80, 52), True)):
        # The ERP knows the account by its id: the ROI sheet reads its billing from there.
        account = {"customer_id": person.company_id or person.id, "annual_value": 48_000}
        introduce(w, person, "web", w.ago(days=13), scenario=1, **account)
        props = page_properties("/renewal/compare", "Compare renewal plans", demo_scenario=1)
        for hour in hours:
            at, view = w.ago(hours=hour), props | {"demo_control": is_control}
            w.emit(
                person, "web", at, "page", signed_in=True, name="Renewal Compare", properties=view
            )
    props = {"plan": "enterprise", "term_months": 24, "demo_scenario": 1, "demo_control": True}
    # Between the control's second and third view: the third one completes the count with a
    # form already in the window, so the renewal-risk playbook stays quiet for the control.
    w.track(control, "web", w.ago(hours=60), "Renewal Form Submitted", props, signed_in=True)


def _promotion(w: Writer, crowd: list[Person]) -> None:
    """Scenario 2: a running promotion's audience, three of whom bought in the last 48 h."""
    audience = w.rng.sample(crowd, min(len(crowd), max(6, len(crowd) // 10)))
    promo = {"promotion_id": "promo-spring-sale", "name": "Spring Sale", "demo_scenario": 2}
    for p in audience:
        online = "app" if p.app_user_id else "wechat" if p.wechat_openid else "web"
        at = w.ago(hours=w.rng.randint(50, 200))
        w.track(p, online, at, "Promotion Viewed", dict(promo), signed_in=True)
    for p in audience[:3]:
        # Bought where they saw the promotion, signed in: the purchase is theirs by the same
        # identifier. (In a shop, a member card that no earlier event tied to their app or
        # WeChat account would make a second profile, never in the audience; whether one did
        # depended on the rest of the world, and the scenario then had no buyer to remove.)
        online = "app" if p.app_user_id else "wechat" if p.wechat_openid else "web"
        at, order = w.ago(hours=w.rng.randint(2, 46)), order_properties(w, p, demo_scenario=2)
        w.track(p, online, at, "Order Completed", order, signed_in=True)


def _co_attendance(w: Writer, a: Person, b: Person) -> None:
    """Scenario 4: two companies' contacts at one summit livestream; a's company is funded."""
    introduce(w, a, "web", w.ago(days=13), scenario=4)
    introduce(w, b, "wechat", w.ago(days=13), scenario=4)
    occasion = {"occasion_id": f"summit-{w.now.year}-{_short(w.namespace)}", "demo_scenario": 4}
    occasion["title"] = "Global Customer Summit 全球客户峰会"
    at = w.ago(days=12)
    w.track(a, "web", at, "Webinar Attended", occasion | {"duration_min": 74}, signed_in=True)
    joined = occasion | {"duration_min": 41}
    w.track(b, "wechat", at + timedelta(minutes=9), "Livestream Joined", joined)
    firm, currency = w.firms[str(a.company_id)], COUNTRIES[a.country].currency
    news = {
        "company_id": firm.id,
        "company_name": firm.name,
        "round": "Series C",
        "amount": _money(50_000_000, currency),
        "currency": currency,
        "source_url": f"https://news.example.com/{firm.id}/series-c",
        "demo_scenario": 4,
    }
    w.track(a, "web", w.ago(days=3), "Funding Announced", news, signed_in=True)


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _api_docs(w: Writer, p: Person) -> None:
    """Scenario 5: long API-reference dwells, the integration section opened again and again."""
    introduce(w, p, "web", w.ago(days=9), scenario=5)
    for days, dwell in ((6, 262), (2, 214)):
        at, mark = w.ago(days=days), {"path": "/docs/api", "demo_scenario": 5}
        page = page_properties("/docs/api", "API Reference", demo_scenario=5)
        w.emit(p, "web", at, "page", signed_in=True, name="API Reference", properties=page)
        for second in (40, 95):
            expanded = mark | {"section": "integration"}
            w.track(p, "web", at + timedelta(seconds=second), "Section Expanded", expanded, True)
        viewed = mark | {"duration_s": dwell}
        w.track(p, "web", at + timedelta(seconds=dwell), "API Docs Viewed", viewed, True)


def _erasure(w: Writer, p: Person) -> None:
    """Scenario 10: a German customer's complaint asks for the deletion of all their data."""
    introduce(w, p, "web", w.ago(days=12), scenario=10)
    props = {
        "complaint_id": f"CMP-{_short(p.id)}",
        "channel": "email",
        "language": "de",
        "subject": "Löschung meiner Daten",
        "text": f"{ERASURE} Mit freundlichen Grüßen, {p.name}",
        "demo_scenario": 10,
    }
    w.track(p, "email", w.ago(hours=20), "Complaint Submitted", props)


def _brazil_invoice(w: Writer, p: Person) -> None:
    """Scenario 11: a CPF trait, then an invoice request with a mistyped CPF and a good one."""
    cpf = _checked([w.rng.randint(0, 9) for _ in range(9)], tuple(range(11, 1, -1)))
    cnpj = _checked([*(w.rng.randint(0, 9) for _ in range(8)), 0, 0, 0, 1], _CNPJ_WEIGHTS)
    good = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    introduce(w, p, "web", w.ago(days=8), scenario=11, cpf=good)
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    company = f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}"
    for hours, number in ((30, typo), (29, good)):
        props = {
            "cpf": number,
            "cnpj": company,
            "amount": _money(890, "BRL"),
            "currency": "BRL",
            "demo_scenario": 11,
            "demo_valid": number == good,
        }
        w.track(p, "web", w.ago(hours=hours), "Invoice Requested", props, signed_in=True)


def _insurance_renewal(w: Writer, crowd: list[Person]) -> None:
    """Scenario 9: policy holders where an agent is licensed (DE, CN, BR) are due for renewal."""
    holders = [p for p in crowd if p.country in ("DE", "CN", "BR")][:3]
    for i, p in enumerate(holders):
        policy = f"POL-{_short(p.id)}"
        extra = {"country": p.country, "policy_id": policy, "claims": i % 2}
        introduce(w, p, "web", w.ago(days=5), scenario=9, **extra)
        props = {"policy_id": policy, "days_left": 21 + i, "demo_scenario": 9}
        w.track(p, "web", w.ago(hours=6 + i), "Policy Renewal Due", props, signed_in=True)


def _dsa_complaint(w: Writer, crowd: list[Person]) -> None:
    """Scenario 12: a German customer complains by phone on a Friday at 16:00 Berlin time."""
    germans = [p for p in crowd if p.country == "DE"]
    if not germans:
        return
    p, friday = germans[-1], last_friday_4pm(w.now)
    introduce(w, p, "call_centre", friday - timedelta(days=10), scenario=12)
    props = {
        "complaint_id": f"CMP-{_short(p.id + ':dsa')}",
        "channel": "phone",
        "language": "de",
        "text": COMPLAINTS["de-DE"],
        "demo_scenario": 12,
    }
    w.track(p, "call_centre", friday, "Complaint Submitted", props)


def last_friday_4pm(now: datetime) -> datetime:
    """The latest Friday 16:00 in Berlin at least an hour before `now` (in UTC)."""
    local = now.astimezone(BERLIN) - timedelta(hours=1)
    friday = local.replace(hour=16, minute=0, second=0, microsecond=0)
    friday -= timedelta(days=(local.weekday() - 4) % 7)
    if friday > local:
        friday -= timedelta(days=7)
    return friday.astimezone(UTC)


_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _checked(digits: list[int], weights: tuple[int, ...]) -> str:
    """Digits followed by their two mod-11 check digits (the CPF and CNPJ rule)."""
    for skip in (1, 0):
        remainder = sum(d * k for d, k in zip(digits, weights[skip:], strict=True)) % 11
        digits = [*digits, 0 if remainder < 2 else 11 - remainder]
    return "".join(map(str, digits))
