"""Who plays which scenario: the ground truth the scenario checks compare the stored state with.

Written by `crmos demo` from the world's marked events (``cast.json`` in the demo folder), so
`crmos demo scenarios` needs neither the world nor its seed. A scenario's people are found in
the store by the identifiers their touchpoints sent, as any caller of identity would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from crmos.core.errors import ValidationError
from crmos.demo.world import scenario_of
from crmos.identity import profile_of

CAST_FILE = "cast.json"
_KEPT = ("email", "phone", "wechat_openid", "pos_member_id", "cpf", "company", "country")


def cast_of(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The marked events of each scenario, reduced to what the checks need (no free text)."""
    cast: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        number = scenario_of(event)
        if number is None:
            continue
        props = {k: v for k, v in event.get("properties", {}).items() if k != "text"}
        traits = {k: v for k, v in event.get("traits", {}).items() if k in _KEPT}
        entry = {
            "type": event["type"],
            "event": event.get("event"),
            "timestamp": event["timestamp"],
            "touchpoint": event.get("context", {}).get("touchpoint"),
            "userId": event.get("userId"),
            "anonymousId": event.get("anonymousId"),
            "properties": props,
            "traits": traits,
        }
        cast.setdefault(str(number), []).append(entry)
    return cast


def write_cast(folder: Path, events: Iterable[dict[str, Any]]) -> None:
    """Keep the cast of the world just played."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CAST_FILE).write_text(json.dumps(cast_of(events), ensure_ascii=False, indent=1))


def read_cast(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The cast of the last world played here (empty when none was)."""
    path = folder / CAST_FILE
    if not path.exists():
        return {}
    data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def profile_for(conn: Connection, workspace_id: str, entry: dict[str, Any]) -> str | None:
    """The live profile an event of the cast was stitched into, by the identifiers it sent."""
    for kind, value in _candidates(entry):
        try:
            found = profile_of(conn, workspace_id, kind, value)
        except ValidationError:
            continue
        if found is not None:
            return found
    return None


def _candidates(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """Identifiers to look the person up by, the most specific first (a shared phone last)."""
    user, anonymous = entry.get("userId") or "", entry.get("anonymousId")
    traits = entry.get("traits", {})
    found: list[tuple[str, str]] = []
    if entry.get("touchpoint") == "pos" and user:
        found.append(("pos_member_id", user))
    elif user and "@" not in user and not user.startswith("+"):
        found.append(("user_id", user))
    found.extend(("email", e) for e in (user if "@" in user else None, traits.get("email")) if e)
    if traits.get("wechat_openid"):
        found.append(("wechat_openid", traits["wechat_openid"]))
    if anonymous:
        found.append(("anonymous_id", anonymous))
    found.extend(
        ("phone", p) for p in (user if user.startswith("+") else None, traits.get("phone")) if p
    )
    return found
