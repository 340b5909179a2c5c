"""The demo world: companies, people and their Segment-shaped events, with the ground truth.

Pure and deterministic (stdlib only, no I/O): the same arguments always give the same world.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from crmos.core.clock import utcnow
from crmos.demo.catalogue import (
    CALL_REASONS,
    CAST,
    COMPLAINTS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    MINI_PAGES,
    PAGES,
    PRODUCTS,
    ROLES,
    SCREENS,
    SESSION_WEIGHTS,
    SITE,
    USE_CHANCES,
)
from crmos.demo.episodes import (
    Writer,
    introduce,
    moment,
    order_properties,
    page_properties,
    scenarios,
    step,
)
from crmos.demo.model import IDENTIFIERS, TOUCHPOINTS, Company, Person, World
from crmos.demo.personal import birthday, home

HOUSEHOLD_CHANCE = 0.15
"""Chance that someone lives with the person generated before them (family, flatmates)."""
TWIN_CHANCE = 0.08
"""Chance that such a relative is a twin: same birthday, home and (mostly) family name."""

__all__ = [
    "IDENTIFIERS",
    "SITE",
    "TOUCHPOINTS",
    "Company",
    "Person",
    "World",
    "generate",
    "scenario_of",
    "world_clock",
]

CLOCK_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""The first pinned world clock (:func:`world_clock`)."""


def scenario_of(event: dict[str, Any]) -> int | None:
    """The DESIGN.md scenario number an event belongs to, or `None` for background activity."""
    for key in ("properties", "traits"):
        mark = event.get(key, {}).get("demo_scenario")
        if mark is not None:
            return int(mark)
    return None


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
    writer = Writer(rng, namespace, end, end - timedelta(days=days), by_id)
    for person in everyone:
        _activity(writer, person)
    scenarios(writer, cast, [p for p in everyone if p not in cast.values()])
    writer.events.sort(key=lambda event: (event["timestamp"], event["messageId"]))
    return World(firms, everyone, writer.events)


def world_clock(seed: int, hour: int = 0) -> datetime:
    """A `now` pinned by `seed` (a day of 2026, one per seed) and `hour`, for a world that
    does not depend on when it is generated: a figure measured on it can be reproduced.

    The world changes with its `now` (the hours people are awake, the weekday of a story),
    so benchmarks and tests name their clock instead of taking the wall clock's hour.
    """
    if not 0 <= hour < 24:
        raise ValueError(f"hour={hour} is not an hour of the day (0-23)")
    return CLOCK_EPOCH + timedelta(days=seed % 365, hours=hour)


def _reference_time(now: datetime | None) -> datetime:
    if now is None:
        return utcnow().replace(minute=0, second=0, microsecond=0)
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} has no time zone; pass an aware datetime")
    return now.astimezone(UTC)


def _check_sizes(companies: int, people: int, days: int) -> None:
    least = {"companies": (companies, 3), "people": (people, 20), "days": (days, 14)}
    problems = [f"{k}={v} is below {low}" for k, (v, low) in least.items() if v < low]
    if problems:
        raise ValueError("; ".join(problems) + " (the minimum the scenario stories need)")


def _make_companies(rng: random.Random, count: int) -> list[Company]:
    order = list(COUNTRIES)
    extra = rng.choices(order, COUNTRY_WEIGHTS, k=max(0, count - len(order)))
    used: dict[str, int] = {}
    firms = []
    for index, code in enumerate(sorted(order[:count] + extra, key=order.index)):
        pool, n = COUNTRIES[code].firms, used.setdefault(code, 0)
        used[code] += 1
        name, domain, industry = pool[n % len(pool)]
        if n >= len(pool):  # more firms than names: a numbered sister company
            stem, _, tld = domain.partition(".")
            name, domain = f"{name} {n // len(pool) + 1}", f"{stem}{n // len(pool) + 1}.{tld}"
        firms.append(Company(f"company-{index + 1:03d}", name, domain, industry, code))
    return firms


def _make_people(
    rng: random.Random, seed: int, firms: list[Company], count: int
) -> tuple[dict[str, Person], list[Person]]:
    """Everyone, in id order; the scenario cast sits at random places among the crowd."""
    slots, taken = rng.sample(range(count), len(CAST)), set[str]()
    fixed = dict(zip(("summit_a", "summit_b"), rng.sample(firms, 2), strict=True))
    fixed |= dict(zip(("conflict_1", "conflict_2", "conflict_3"), _trio(rng, firms), strict=True))
    fixed["cpf"] = next((f for f in firms if f.country == "BR"), firms[0])
    cast: dict[str, Person] = {}
    for slot, (label, country, role, force) in zip(slots, CAST, strict=True):
        firm = None if role == "consumer" else fixed.get(label) or rng.choice(firms)
        code = country or (firm.country if firm else "CN")
        pid = f"person-{slot + 1:04d}"
        cast[label] = _person(rng, seed, pid, code, firm, role, force, taken)
    switchboard = cast["conflict_1"].phone  # scenario 6: one number, three companies
    cast |= {k: replace(cast[k], phone=switchboard) for k in ("conflict_2", "conflict_3")}
    by_id = {person.id: person for person in cast.values()}
    everyone: list[Person] = []
    for pid in (f"person-{i + 1:04d}" for i in range(count)):
        kin = everyone[-1] if everyone and rng.random() < HOUSEHOLD_CHANCE else None
        given = [p.given for p in everyone if kin is not None and p.household == kin.household]
        everyone.append(by_id.get(pid) or _crowd(rng, seed, pid, firms, taken, kin, given))
    return cast, everyone


def _trio(rng: random.Random, firms: list[Company]) -> list[Company]:
    """Three companies of one country if some country has three, else any three."""
    for code in COUNTRIES:
        local = [f for f in firms if f.country == code]
        if len(local) >= 3:
            return rng.sample(local, 3)
    return rng.sample(firms, 3)


def _crowd(
    rng: random.Random,
    seed: int,
    pid: str,
    firms: list[Company],
    taken: set[str],
    kin: Person | None = None,
    household: Sequence[str] = (),
) -> Person:
    """Someone outside the stories: mostly a company's contact, else a private consumer.

    With `kin`, a member of kin's household: same home, mostly the same family name, and
    now and then a twin (same birthday): the hard cases for matching on personal details.
    """
    firm: Company | None = None
    role = "consumer"
    if rng.random() < 0.8:
        firm, role = rng.choice(firms), rng.choice(ROLES)
    if kin is not None:
        code = kin.country
    elif firm and rng.random() < 0.9:
        code = firm.country
    else:
        code = rng.choices(list(COUNTRIES), COUNTRY_WEIGHTS)[0]
    return _person(rng, seed, pid, code, firm, role, frozenset(), taken, kin, household)


def _person(
    rng: random.Random,
    seed: int,
    pid: str,
    code: str,
    firm: Company | None,
    role: str,
    force: frozenset[str],
    taken: set[str],
    kin: Person | None = None,
    household: Sequence[str] = (),
) -> Person:
    """A person; identifiers come from a hash of (seed, id), contact details from the rng."""
    country = COUNTRIES[code]
    (family, family_latin), (given, given_latin) = map(rng.choice, (country.family, country.given))
    if kin is not None:  # a relative: mostly the family name, never the same first name
        names = [g for g in country.given if g[0] != kin.given]
        given, given_latin = rng.choice(names)
        if given in household:  # nor a third member's: the next free name, no extra draw
            given, given_latin = next(g for g in names if g[0] not in household)
        if rng.random() < 0.8:
            family, family_latin = next(f for f in country.family if f[0] == kin.family)
    domain = firm.domain if firm else rng.choice(country.mail)
    email = _fresh(taken, lambda n: f"{given_latin}.{family_latin}{n or ''}@{domain}")
    prefix, nationals, digits = country.phone
    phone = _fresh(taken, lambda _: prefix + rng.choice(nationals) + _subscriber(rng, digits))
    uses = {t for t, chance in USE_CHANCES[code == "CN"] if t in force or rng.random() < chance}
    name = f"{family}{given}" if code in ("CN", "JP") else f"{given} {family}"
    company_id = firm.id if firm else None
    born = kin.birthday if kin is not None and rng.random() < TWIN_CHANCE else birthday(rng)
    place = kin.home if kin is not None else home(rng, code)
    keys = _keys(seed, pid, uses)
    personal = (given, family, born, place, kin.household if kin is not None else pid)
    return Person(pid, name, company_id, email, phone, *keys, code, role, *personal)


def _keys(
    seed: int, pid: str, uses: set[str]
) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """WeChat openid, app user id, POS member id, device id and web anonymousId, where used."""
    key, app = hashlib.sha256(f"crmos-demo:{seed}:{pid}".encode()).digest(), "app" in uses
    return (
        "o" + base64.urlsafe_b64encode(key).decode()[:27] if "wechat" in uses else None,
        f"U{int.from_bytes(key[:8]) % 10**10:010d}" if app else None,
        f"M{int.from_bytes(key[8:16]) % 10**9:09d}" if "pos" in uses else None,
        str(uuid.UUID(bytes=key[:16], version=4)) if app else None,
        str(uuid.UUID(bytes=key[16:], version=4)) if "web" in uses else None,
    )


def _subscriber(rng: random.Random, count: int) -> str:
    """A subscriber number; it never starts with 0 (JP 090-0... does not exist)."""
    return rng.choice("123456789") + _digits(rng, count - 1)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _fresh(taken: set[str], make: Callable[[int], str]) -> str:
    """The first of make(0), make(1), ... not yet taken, now taken."""
    for attempt in range(10_000):
        if (value := make(attempt)) not in taken:
            taken.add(value)
            return value
    raise ValueError(f"ran out of fresh values like {value!r}; generate fewer people")


def _web(w: Writer, p: Person, at: datetime) -> None:
    rng, signed_in = w.rng, w.rng.random() < 0.5
    for _ in range(rng.randint(1, 4)):
        name, path = rng.choice(PAGES)
        w.emit(
            p,
            "web",
            at,
            "page",
            signed_in=signed_in,
            name=name,
            properties=page_properties(path, name),
        )
        at = step(w, at)
    roll, (sku, product, _) = rng.random(), rng.choice(PRODUCTS)
    if roll < 0.12:  # short dwells: the background to scenario 5's long ones
        props = {"path": "/docs/api", "duration_s": rng.randint(5, 150)}
        w.track(p, "web", at, "API Docs Viewed", props, signed_in)
    elif roll < 0.22:
        props = {"path": "/pricing", "section": rng.choice(("plans", "security", "faq", "sla"))}
        w.track(p, "web", at, "Section Expanded", props, signed_in)
    elif roll < 0.4:
        props = {"product_id": sku, "sku": sku, "name": product}
        w.track(p, "web", at, "Product Viewed", props, signed_in)


def _app(w: Writer, p: Person, at: datetime) -> None:
    rng = w.rng
    w.track(p, "app", at, "Application Opened", {"from_background": rng.random() < 0.5})
    for _ in range(rng.randint(1, 4)):
        at = step(w, at, 3, 90)
        w.emit(p, "app", at, "screen", name=rng.choice(SCREENS), properties={})
    roll, (sku, product, _) = rng.random(), rng.choice(PRODUCTS)
    if roll < 0.1:
        w.track(p, "app", step(w, at), "Order Completed", order_properties(w, p))
    elif roll < 0.35:
        props = {"product_id": sku, "sku": sku, "name": product, "quantity": 1}
        w.track(p, "app", step(w, at), "Product Added", props)


def _wechat(w: Writer, p: Person, at: datetime) -> None:
    rng = w.rng
    w.track(p, "wechat", at, "Mini Program Opened", {"scene": rng.choice((1001, 1007, 1047))})
    for _ in range(rng.randint(1, 3)):
        at, path = step(w, at, 3, 120), rng.choice(MINI_PAGES)
        w.emit(p, "wechat", at, "page", name=path, properties={"path": path})
    roll = rng.random()
    if roll < 0.08:
        w.track(p, "wechat", step(w, at), "Order Completed", order_properties(w, p))
    elif roll < 0.25:
        props = {"coupon_id": f"CPN-{rng.randint(100, 120)}", "discount": 20}
        w.track(p, "wechat", step(w, at), "Coupon Claimed", props)


def _call(w: Writer, p: Person, at: datetime) -> None:
    rng = w.rng
    props: dict[str, Any] = {
        "direction": rng.choice(("inbound", "outbound")),
        "reason": rng.choice(CALL_REASONS),
        "duration_s": rng.randint(40, 900),
        "agent_id": f"agent-{rng.randint(1, 40):03d}",
    }
    w.track(p, "call_centre", at, "Call Completed", props)
    if rng.random() < 0.08:  # background for the complaint SLA (scenario 12)
        locale = COUNTRIES[p.country].locale
        props = {"channel": "phone", "language": locale[:2], "text": COMPLAINTS[locale]}
        w.track(p, "call_centre", at, "Complaint Submitted", props)


def _pos(w: Writer, p: Person, at: datetime) -> None:
    store = f"{p.country}-{w.rng.randint(1, 20):03d}"
    w.track(p, "pos", at, "Order Completed", order_properties(w, p, store_id=store))


_SESSIONS = {"wechat": _wechat, "app": _app, "web": _web, "call_centre": _call, "pos": _pos}


def _activity(w: Writer, p: Person) -> None:
    """Background life: sessions on the person's touchpoints, plus e-mail campaigns."""
    rng = w.rng
    calls = rng.random() < 0.35
    uses = (p.wechat_openid, p.app_user_id, p.web_anonymous_id, calls, p.pos_member_id)
    channels = [c for c, used in zip(SESSION_WEIGHTS, uses, strict=True) if used]
    weights, rate, seen = [SESSION_WEIGHTS[c] for c in channels], rng.uniform(0.1, 1.3), set()
    for day in range((w.now - w.start).days + 1):
        for _ in range(int(rate) + (rng.random() < rate % 1) if channels else 0):
            channel, at = rng.choices(channels, weights)[0], moment(w, day, p.country)
            if channel not in seen and w.start <= at <= w.now:  # first session in the window
                seen.add(channel)
                introduce(w, p, channel, at)
                at = step(w, at, 5, 30)
            _SESSIONS[channel](w, p, at)
    _mailings(w, p)


def _mailings(w: Writer, p: Person) -> None:
    """Campaign mail; the mailing list's sign-up record comes with the first one sent."""
    rng, day, listed = w.rng, w.rng.randint(0, 6), False
    while day <= (w.now - w.start).days:
        at, campaign = moment(w, day, p.country), f"cmp-{day // 7 + 1:02d}"
        if not listed and w.start <= at <= w.now:
            listed = True
            introduce(w, p, "email", at - timedelta(minutes=rng.randint(1, 30)))
        w.track(p, "email", at, "Email Delivered", {"campaign_id": campaign})
        if rng.random() < 0.45:
            at += timedelta(minutes=rng.randint(2, 600))
            w.track(p, "email", at, "Email Opened", {"campaign_id": campaign})
            if rng.random() < 0.35:
                props = {"campaign_id": campaign, "url": SITE + "/pricing"}
                w.track(p, "email", step(w, at), "Email Link Clicked", props)
        day += rng.randint(5, 9)
