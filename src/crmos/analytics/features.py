"""What a profile did before a moment, as named numbers, and what it did in the window after.

Pure: the service reads events (with interaction intents), traits and graph role scores through
their rooms' public functions and hands them here as :class:`Activity` values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DAY_MS = 86_400_000
TOUCHPOINTS = ("web", "app", "wechat", "pos", "call_centre", "email")
PASSIVE = frozenset({"Email Delivered"})
"""Events the company did to the person, not the person's own activity."""
ACTIVE_TYPES = frozenset({"track", "page", "screen"})
TARGETS = ("churn", "renewal", "purchase")


@dataclass(frozen=True, slots=True)
class Activity:
    """One event of a profile, reduced to what the features read."""

    ts_ms: int
    type: str
    name: str
    touchpoint: str = ""
    intent: str = ""
    amount: float = 0.0

    @property
    def active(self) -> bool:
        """Whether the person did it (not a mail the company sent, not an identify call)."""
        return self.type in ACTIVE_TYPES and self.name not in PASSIVE


@dataclass(frozen=True, slots=True)
class Profile:
    """A profile's history and the facts other rooms hold about it."""

    id: str
    activity: Sequence[Activity]
    traits: Mapping[str, Any] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Events:
    """The event names that make each label."""

    purchase: str = "Order Completed"
    renewal: frozenset[str] = frozenset({"Subscription Renewed", "Renewal Form Submitted"})


def features(profile: Profile, at_ms: int, names: Events) -> dict[str, float]:
    """The profile's features as of ``at_ms`` (only events before it count)."""
    past = [a for a in profile.activity if a.ts_ms < at_ms]
    active = [a for a in past if a.active]

    def days(a: Activity) -> float:
        return (at_ms - a.ts_ms) / DAY_MS

    orders = [a for a in active if a.name == names.purchase]
    out: dict[str, float] = {
        "days_since_active": min(days(active[-1]), 365.0) if active else 365.0,
        "events_7d": float(sum(days(a) <= 7 for a in active)),
        "events_30d": float(sum(days(a) <= 30 for a in active)),
        "active_days_30d": float(len({a.ts_ms // DAY_MS for a in active if days(a) <= 30})),
        "tenure_days": min(days(past[0]), 365.0) if past else 0.0,
        "orders": float(len(orders)),
        "orders_30d": float(sum(days(a) <= 30 for a in orders)),
        "days_since_order": min(days(orders[-1]), 365.0) if orders else 365.0,
        "spend_log": math.log1p(sum(a.amount for a in orders)),
        "email_opens_30d": _count(active, "Email Opened", 30, days),
        "email_clicks_30d": _count(active, "Email Link Clicked", 30, days),
        "complaints_14d": _count(past, "Complaint Submitted", 14, days),
        "interactions_30d": _count(past, "Interaction Received", 30, days),
        "renewal_signals_30d": float(sum(a.name in names.renewal and days(a) <= 30 for a in past)),
        "b2b": 1.0 if profile.traits.get("company") or profile.traits.get("company_id") else 0.0,
    }
    recent = Counter(a.touchpoint for a in active if days(a) <= 30)
    total = sum(recent.values()) or 1
    out |= {f"share_{t}": recent[t] / total for t in TOUCHPOINTS}
    intents = Counter(a.intent for a in past if a.intent and days(a) <= 30)
    out |= {f"intent:{k}": float(v) for k, v in intents.items()}
    out |= {f"score:{k}": float(v) for k, v in profile.scores.items()}
    return out


def _count(
    activity: Sequence[Activity], name: str, within: float, days: Callable[[Activity], float]
) -> float:
    return float(sum(a.name == name and days(a) <= within for a in activity))


def labels(profile: Profile, at_ms: int, window_ms: int, names: Events) -> dict[str, int]:
    """What happened in ``(at_ms, at_ms + window_ms]``: no activity (churn), a renewal, a
    purchase."""
    ahead = [a for a in profile.activity if at_ms <= a.ts_ms < at_ms + window_ms and a.active]
    return {
        "churn": int(not ahead),
        "renewal": int(any(a.name in names.renewal for a in ahead)),
        "purchase": int(any(a.name == names.purchase for a in ahead)),
    }


def known_before(profile: Profile, at_ms: int) -> bool:
    """Whether the profile did anything before ``at_ms`` (only those are predicted)."""
    return any(a.ts_ms < at_ms and a.active for a in profile.activity)


WORDS: dict[str, str] = {
    "days_since_active": "last active {v:.0f} days ago",
    "events_7d": "{v:.0f} events in 7 days",
    "events_30d": "{v:.0f} events in 30 days",
    "active_days_30d": "active on {v:.0f} days of the last 30",
    "tenure_days": "known for {v:.0f} days",
    "orders": "{v:.0f} orders in all",
    "orders_30d": "{v:.0f} orders in 30 days",
    "days_since_order": "last order {v:.0f} days ago",
    "spend_log": "total spend {e:,.0f}",
    "email_opens_30d": "{v:.0f} e-mails opened in 30 days",
    "email_clicks_30d": "{v:.0f} e-mail links clicked in 30 days",
    "complaints_14d": "{v:.0f} support complaints in 14 days",
    "interactions_30d": "{v:.0f} interactions in 30 days",
    "renewal_signals_30d": "{v:.0f} renewal signals in 30 days",
    "b2b": "{yes}",
}


def in_words(name: str, value: float) -> str:
    """A feature and its value as a person would say it ("3 support complaints in 14 days")."""
    if name == "b2b":
        return "a business contact" if value else "a private customer"
    if name.startswith("share_"):
        return f"{value:.0%} of recent activity on {name[6:]}"
    if name.startswith("intent:"):
        return f"{value:.0f} interactions about {name[7:]} in 30 days"
    if name.startswith("score:"):
        return f"{name[6:].replace('_', ' ')} confidence {value:.2f}"
    template = WORDS.get(name, name + " {v:g}")
    return template.format(v=value, e=math.expm1(value), yes="")
