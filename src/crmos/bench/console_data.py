"""Synthetic people for ``crmos bench console``: profiles, identifiers and events written
straight into identity's store (``crmos.identity.write_rows``), in the shape the stitcher
writes them.

Names are Latin (first last) or Chinese (surname + one or two given characters, about a
third); e-mail addresses ``first.lastN@domain``; E.164 phone numbers from China and Germany;
companies from a few thousand made-up names; five touchpoints; events spread over 90 days,
one profile ("the heavy one") holding ``heavy_events`` of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from crmos.core.ids import new_id
from crmos.identity import IdentityRows, event_row, identifier_row, profile_row, write_rows
from crmos.store import EventLog

FIRST = [
    "alice",
    "anna",
    "ben",
    "bob",
    "carla",
    "chen",
    "david",
    "diana",
    "emil",
    "emma",
    "felix",
    "fiona",
    "george",
    "hana",
    "ivan",
    "julia",
    "karl",
    "lena",
    "liam",
    "lucas",
    "maria",
    "mark",
    "nina",
    "oliver",
    "olga",
    "paul",
    "petra",
    "quinn",
    "rosa",
    "sam",
    "sara",
    "tom",
    "uma",
    "victor",
    "vera",
    "walter",
    "wendy",
    "xavier",
    "yara",
    "zoe",
    "noah",
    "mia",
    "leon",
    "clara",
    "jonas",
    "sofia",
    "max",
    "ella",
    "finn",
]
LAST = [
    "smith",
    "müller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "schulz",
    "hoffmann",
    "koch",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "wilson",
    "moore",
    "taylor",
    "thomas",
    "white",
    "harris",
    "martin",
    "clark",
    "lewis",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "hill",
    "campbell",
    "silva",
    "santos",
    "costa",
    "oliveira",
    "pereira",
    "almeida",
    "ferreira",
    "rodrigues",
    "nakamura",
    "tanaka",
    "suzuki",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰春梅海燕文辉欣怡子轩浩然"
COMPANY_A = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "hooli",
    "vandelay",
]
COMPANY_B = [
    "robotics",
    "logistics",
    "foods",
    "systems",
    "energy",
    "labs",
    "capital",
    "motors",
    "pharma",
    "textiles",
]
DOMAINS = ("example.com", "mail.de", "qq.com", "163.com", "gmail.com", "corp.example.cn")
TOUCHPOINTS = ("app", "web", "pos", "crm", "wechat")
PAGES = ("Pricing", "Renewal options", "API docs", "Integration guide", "Checkout")
DAY_MS = 86_400_000


@dataclass(slots=True)
class Person:
    """What the bench searches a person by."""

    profile_id: str
    name: str
    email: str
    phone: str
    company: str


@dataclass(slots=True)
class People:
    """The loaded world: its people (a sample of them kept for queries) and the heavy one."""

    workspace_id: str
    count: int
    events: int
    heavy_id: str = ""
    sample: list[Person] = field(default_factory=list)


def _person(rng: random.Random, n: int) -> tuple[str, str, str, str]:
    """(name, e-mail, phone, company) of person ``n``."""
    if rng.random() < 0.35:
        surname, given = rng.choice(SURNAMES), "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        name, local = surname + given, f"user{n}"
    else:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name, local = f"{first.title()} {last.title()}", f"{first}.{last}{n}"
    email = f"{local}@{rng.choice(DOMAINS)}"
    phone = f"+86138{n:08d}" if n % 2 else f"+49170{n:08d}"
    company = f"{rng.choice(COMPANY_A).title()} {rng.choice(COMPANY_B).title()} {n % 2000}"
    return name, email, phone, company


def load(
    log: EventLog,
    workspace_id: str,
    count: int,
    events: int,
    heavy_events: int,
    now_ms: int,
) -> People:
    """Write ``count`` profiles and ``events`` events (``heavy_events`` on the first profile):
    identity's rows, and the event log's rows the timeline reads."""
    engine = log.engine
    rng = random.Random(16)
    world = People(workspace_id, count, events)
    ids = [new_id("prf_") for _ in range(count)]
    world.heavy_id = ids[0]
    with engine.begin() as conn:
        for part in _chunks(range(count), 5000):
            rows, idents = [], []
            for n in part:
                name, email, phone, company = _person(rng, n)
                source = TOUCHPOINTS[n % len(TOUCHPOINTS)]
                created = now_ms - rng.randrange(90 * DAY_MS)
                traits = {"name": name, "email": email, "phone": phone, "company": company}
                rows.append(profile_row(ids[n], workspace_id, traits, source, created))
                for kind, value in (("user_id", f"u-{n}"), ("email", email), ("phone", phone)):
                    idents.append(
                        identifier_row(workspace_id, kind, value, ids[n], source, created)
                    )
                if n % max(1, count // 400) == 0:
                    world.sample.append(Person(ids[n], name, email, phone, company))
            write_rows(conn, IdentityRows(profiles=rows, identifiers=idents))
        for rows in _event_rows(rng, ids, workspace_id, events, heavy_events, now_ms):
            write_rows(conn, IdentityRows(events=rows))
            log.append(conn, [_log_row(r, now_ms) for r in rows])
    return world


def _event_rows(
    rng: random.Random,
    ids: list[str],
    workspace_id: str,
    events: int,
    heavy_events: int,
    now_ms: int,
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for seq in range(1, events + 1):
        pid = ids[0] if seq <= heavy_events else ids[rng.randrange(len(ids))]
        statement = {"plan": "pro"} if seq % 50 == 0 else None
        source, at = TOUCHPOINTS[seq % len(TOUCHPOINTS)], now_ms - rng.randrange(90 * DAY_MS)
        batch.append(event_row(seq, workspace_id, pid, source, at, statement))
        if len(batch) == 10_000:
            yield batch
            batch = []
    if batch:
        yield batch


def _log_row(row: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The event log's row of an attributed event (clear columns only, no personal fields)."""
    seq = row["seq"]
    return {
        "seq": seq,
        "workspace_id": row["workspace_id"],
        "message_id": f"bench-{seq}",
        "type": "identify" if row["traits"] else "track",
        "user_id": row["profile_id"],
        "anonymous_id": None,
        "name": None if row["traits"] else PAGES[seq % len(PAGES)],
        "ts_ms": row["ts_ms"],
        "received_ms": now_ms,
        "touchpoint": row["source"],
        "body": "{}",
        "key_id": None,
        "pii": None,
        "tags": None,
    }


def _chunks(items: range, size: int) -> Iterator[range]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def queries(world: People, n: int, seed: int = 3) -> list[str]:
    """A mix of what people type: e-mail starts and whole addresses, phones, names and name
    starts, Chinese surnames and full names, company names."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        p = rng.choice(world.sample)
        kind = i % 8
        if kind == 0:
            out.append(p.email[: rng.randint(4, 10)])
        elif kind == 1:
            out.append(p.email)
        elif kind == 2:
            out.append(p.phone if i % 2 else p.phone[3:])
        elif kind in (3, 4):
            words = p.name.split()
            latin = len(words) > 1
            out.append(" ".join(w[: rng.randint(3, len(w))] for w in words) if latin else p.name)
        elif kind == 5:
            words = p.name.split()
            out.append(words[-1] if len(words) > 1 else p.name[:1])
        elif kind == 6:
            out.append(p.company.split()[0])
        else:
            out.append(p.company)
    return out
