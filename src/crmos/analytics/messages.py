"""Segment messages to :class:`Activity` values: the one reading of purchase amounts, currencies
and interaction intents, shared by the stored-event path and by files of messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmos.analytics.features import Activity


@dataclass(frozen=True, slots=True)
class Purchases:
    """Which event is a purchase, and where its amount and currency are."""

    event: str = "Order Completed"
    amount_properties: Sequence[str] = ("revenue", "total")
    currency_property: str = "currency"

    def amount(self, properties: Mapping[str, Any]) -> float:
        """The first numeric amount property, else 0."""
        for key in self.amount_properties:
            value = properties.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        return 0.0

    def currency(self, properties: Mapping[str, Any]) -> str:
        """The purchase's currency code ('' when not given)."""
        value = properties.get(self.currency_property)
        return value.upper()[:8] if isinstance(value, str) else ""


def activity(
    kind: str,
    name: str | None,
    ts_ms: int,
    touchpoint: str,
    properties: Mapping[str, Any],
    purchases: Purchases,
) -> Activity:
    """One event as the features read it."""
    label = name or ""
    amount = purchases.amount(properties) if label == purchases.event else 0.0
    intent = properties.get("intent") if label == "Interaction Received" else None
    return Activity(
        ts_ms, kind, label, touchpoint, intent if isinstance(intent, str) else "", amount
    )


def message_activity(message: Mapping[str, Any], purchases: Purchases) -> Activity:
    """A Segment message (``type``, ``event``/``name``, ``timestamp``, ``properties``)."""
    stamp = datetime.fromisoformat(str(message["timestamp"]).replace("Z", "+00:00"))
    context = message.get("context") or {}
    return activity(
        str(message.get("type", "track")),
        message.get("event") or message.get("name"),
        int(stamp.timestamp() * 1000),
        str(context.get("touchpoint", "")),
        message.get("properties") or {},
        purchases,
    )
